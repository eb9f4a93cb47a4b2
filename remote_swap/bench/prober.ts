/**
 * The swap prober (swap_prober.c): built with gcc into a private temporary directory, run inside
 * a memory cgroup through `spirit exec`'s machinery by the benchmark and the system tests. Its
 * resident size is its buffer plus a few hundred KiB, so a cgroup limit measures the buffer.
 * @module
 */
import { buildCProgram, type CProgram, lastJsonLine } from "./c_program.ts";

/** One prober run's report (the JSON object it prints). */
export interface ProberReport {
  pages: number;
  fillUs: number;
  /** Pages not resident when the fill ended (they went to swap). */
  fillSwappedPages: number;
  seqUs: number;
  /** Pages not resident when the sequential read began. */
  seqSwappedPages: number;
  /** Pages resident when it ended (all of them in mode "pure": nothing was reclaimed). */
  seqResidentPagesAfter: number;
  randomPages: number;
  randomUs: number;
  randomSwappedPages: number;
  /** Random reads that found their page swapped out (each timed). */
  randomFaults: number;
  faultP50Us: number;
  faultP99Us: number;
  /** Pages that read back wrong (must be 0). */
  badPages: number;
  /**
   * CPU time of the prober (user + system) in each phase: fault handling in the kernel, reclaim
   * it does itself, and the pattern check; not time spent waiting for the device.
   */
  fillCpuUs: number;
  seqCpuUs: number;
  randomCpuUs: number;
  /**
   * Mode "pure": time to write once to each of `pages` fresh pages (zero-fill page faults, no
   * I/O): the fault rate ceiling of one thread on this machine. 0 in mode "reclaim".
   */
  touchUs: number;
  /** How it read: under its cgroup limit ("reclaim") or with the limit lifted ("pure"). */
  mode: ProberMode;
}

/**
 * "reclaim": seq and random read under the cgroup limit (each swap-in forces a swap-out);
 * "pure": the prober lifts its cgroup's limit before each, so they only read (swap_prober.c).
 */
export type ProberMode = "reclaim" | "pure";

/** A compiled prober; `remove()` deletes it. */
export type Prober = CProgram;

/** Compiles the prober (needs gcc and libc6-dev). */
export function buildProber(): Promise<Prober> {
  return buildCProgram("swap_prober.c", "swap_prober");
}

/**
 * The prober's argv for `sizeMiB` of memory, `randomPages` timed random reads, a seed and a mode
 * (default "reclaim").
 */
export function proberArgv(
  prober: Prober,
  options: { sizeMiB: number; randomPages: number; seed: number; mode?: ProberMode },
): string[] {
  return [
    prober.path,
    String(options.sizeMiB),
    String(options.randomPages),
    String(options.seed),
    options.mode ?? "reclaim",
  ];
}

/** Parses the prober's output (its one JSON line). */
export function parseProberReport(stdout: string): ProberReport {
  return lastJsonLine(stdout, "swap prober") as ProberReport;
}
