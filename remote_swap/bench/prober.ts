/**
 * The swap prober (swap_prober.c): built with gcc into a private temporary directory, run inside
 * a memory cgroup through `spirit exec`'s machinery by the benchmark and the system tests. Its
 * resident size is its buffer plus a few hundred KiB, so a cgroup limit measures the buffer.
 * @module
 */

/** One prober run's report (the JSON object it prints). */
export interface ProberReport {
  pages: number;
  fillUs: number;
  /** Pages not resident when the fill ended (they went to swap). */
  fillSwappedPages: number;
  seqUs: number;
  /** Pages not resident when the sequential read began. */
  seqSwappedPages: number;
  randomPages: number;
  randomUs: number;
  randomSwappedPages: number;
  /** Random reads that found their page swapped out (each timed). */
  randomFaults: number;
  faultP50Us: number;
  faultP99Us: number;
  /** Pages that read back wrong (must be 0). */
  badPages: number;
}

/** A compiled prober; `remove()` deletes it. */
export interface Prober {
  readonly path: string;
  remove(): Promise<void>;
}

/** Compiles the prober (needs gcc and libc6-dev). */
export async function buildProber(): Promise<Prober> {
  const dir = await Deno.makeTempDir({ prefix: "spirit-swap-prober-" });
  const path = `${dir}/swap_prober`;
  const source = new URL("./swap_prober.c", import.meta.url).pathname;
  const output = await new Deno.Command("gcc", {
    args: ["-O2", "-Wall", "-o", path, source],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(
      `gcc failed to build the swap prober: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return { path, remove: () => Deno.remove(dir, { recursive: true }) };
}

/** The prober's argv for `sizeMiB` of memory, `randomPages` timed random reads and a seed. */
export function proberArgv(
  prober: Prober,
  options: { sizeMiB: number; randomPages: number; seed: number },
): string[] {
  return [prober.path, String(options.sizeMiB), String(options.randomPages), String(options.seed)];
}

/** Parses the prober's output (its one JSON line). */
export function parseProberReport(stdout: string): ProberReport {
  const line = stdout.trim().split("\n").findLast((l) => l.startsWith("{"));
  if (line === undefined) {
    throw new Error(`The swap prober printed no report: ${stdout.slice(-500)}`);
  }
  return JSON.parse(line) as ProberReport;
}
