/**
 * The figures of `spirit bench remote-swap` (pure): rates from the probers' reports, which of the
 * issue's targets each row meets, the `--json` document and the human-readable tables.
 * @module
 */
import type { DeviceProberReport } from "../remote_swap/bench/device_prober.ts";
import type { ProberReport } from "../remote_swap/bench/prober.ts";

const MiB = 1 << 20;
const PAGE_BYTES = 4096;

/** The issue's targets. */
export const REMOTE_SWAP_TARGETS = {
  sequentialSwapInMiBps: 150,
  randomSwapInMiBps: 30,
  faultP99Us: 1000,
} as const;

/** Which targets one row meets (sequential rate, random 4 KiB rate, p99 latency). */
export interface TargetsMet {
  sequential: boolean;
  random: boolean;
  p99: boolean;
}

/**
 * Figures of one swap device, through the kernel's swap path. The unprefixed rates are swap-in
 * under reclaim: the prober reads under its cgroup limit, so every page swapped in makes the
 * kernel swap another out (reads and writes mixed). The `pure` ones are pure swap-in: the same
 * reads with the limit lifted, nothing swapped out meanwhile (what a program sees when its
 * pages come back, e.g. after its cache grows).
 */
export interface SwapFigures {
  device: string;
  /** "remote (tcp, c engine)", "remote (tcp, ts engine)" or "local loop file". */
  name: string;
  /** Sequential swap-in under reclaim. */
  sequentialSwapInMiBps: number;
  /**
   * Share of the sequential phase the prober spent on CPU (faults, reclaim, the check), in %:
   * the rest is waiting for the device.
   */
  sequentialCpuPercent: number;
  randomSwapInMiBps: number;
  swapOutMiBps: number;
  faultP50Us: number;
  faultP99Us: number;
  randomFaults: number;
  /** Sequential swap-in with the limit lifted: reads only. */
  pureSequentialSwapInMiBps: number;
  pureSequentialCpuPercent: number;
  /**
   * One write to each page of fresh memory (zero-fill faults, no I/O), as MiB/s: no faulting
   * thread swaps in faster on this machine, whatever the device.
   */
  zeroFillFaultMiBps: number;
  /** Random 4 KiB swap-in with the limit lifted, depth 1. */
  pureRandomSwapInMiBps: number;
  pureFaultP50Us: number;
  pureFaultP99Us: number;
  pureRandomFaults: number;
  /** Pages that read back wrong in either run (must be 0). */
  badPages: number;
  /** The targets judged on the figures under reclaim. */
  meets: TargetsMet;
  /** The targets judged on the pure swap-in figures. */
  meetsPure: TargetsMet;
  /** The C engine's read-ahead over both swap runs (null: local file, TypeScript engine). */
  engineReadahead: EngineReadahead | null;
}

/** The C engine's read-ahead counters over a device's swap runs. */
export interface EngineReadahead {
  /** Reads answered from the read-ahead buffer. */
  hits: number;
  /** Bytes fetched into it from the memory server. */
  bytes: number;
  /** Bytes the device read in all (answered from the buffer or not). */
  readBytes: number;
}

/** Figures of the same device read and written directly (O_DIRECT, no swap code). */
export interface DeviceFigures {
  device: string;
  name: string;
  /** 1 MiB writes in order. */
  writeMiBps: number;
  /** 1 MiB reads in order. */
  sequentialReadMiBps: number;
  /** 4 KiB reads at random offsets, one at a time. */
  randomReadMiBps: number;
  readP50Us: number;
  readP99Us: number;
  randomReads: number;
  bytes: number;
  /** Pages that read back wrong (must be 0). */
  badPages: number;
  meets: TargetsMet;
}

/** The kernel's swap readahead settings during the run. */
export interface SwapReadahead {
  /** vm.page-cluster during the run: swap readahead reads up to 2^pageCluster pages per fault. */
  pageCluster: number;
  /** The host's vm.page-cluster (differs when `--page-cluster` set it for the run, restored). */
  hostPageCluster: number;
  /** /sys/kernel/mm/swap/vma_ra_enabled: readahead by virtual address (true) or by slot. */
  vmaReadahead: boolean;
}

/** What `spirit bench remote-swap --json` prints. */
export interface RemoteSwapBench {
  sizeMiB: number;
  cacheMiB: number;
  randomPages: number;
  targets: typeof REMOTE_SWAP_TARGETS;
  readahead: SwapReadahead;
  /** Load average when the run started (the machine may be shared). */
  loadAverage: number[];
  /** Load average when the run ended. */
  loadAverageAtEnd: number[];
  results: SwapFigures[];
  /** Each device of `results` after swapoff, probed directly: sizeMiB, randomPages reads. */
  deviceResults: DeviceFigures[];
}

function mibPerSec(bytes: number, us: number): number {
  return us <= 0 ? 0 : (bytes / MiB) / (us / 1e6);
}

function targetsMet(sequentialMiBps: number, randomMiBps: number, p99Us: number): TargetsMet {
  const t = REMOTE_SWAP_TARGETS;
  return {
    sequential: sequentialMiBps >= t.sequentialSwapInMiBps,
    random: randomMiBps >= t.randomSwapInMiBps,
    p99: p99Us <= t.faultP99Us,
  };
}

function swapInRates(
  report: ProberReport,
): { sequential: number; sequentialCpuPercent: number; random: number } {
  return {
    sequential: mibPerSec(report.seqSwappedPages * PAGE_BYTES, report.seqUs),
    sequentialCpuPercent: report.seqUs <= 0 ? 0 : 100 * report.seqCpuUs / report.seqUs,
    random: mibPerSec(report.randomFaults * PAGE_BYTES, report.randomUs),
  };
}

/**
 * The swap prober's two reports on `device` (mode "reclaim", then mode "pure") and the engine's
 * read-ahead counters over them, as figures.
 */
export function swapFigures(
  name: string,
  device: string,
  reports: { reclaim: ProberReport; pure: ProberReport; engineReadahead?: EngineReadahead | null },
): SwapFigures {
  const { reclaim: report, pure } = reports;
  const rates = swapInRates(report);
  const pureRates = swapInRates(pure);
  const { sequential: sequentialSwapInMiBps, random: randomSwapInMiBps } = rates;
  return {
    device,
    name,
    sequentialSwapInMiBps,
    sequentialCpuPercent: rates.sequentialCpuPercent,
    randomSwapInMiBps,
    swapOutMiBps: mibPerSec(report.fillSwappedPages * PAGE_BYTES, report.fillUs),
    faultP50Us: report.faultP50Us,
    faultP99Us: report.faultP99Us,
    randomFaults: report.randomFaults,
    pureSequentialSwapInMiBps: pureRates.sequential,
    pureSequentialCpuPercent: pureRates.sequentialCpuPercent,
    zeroFillFaultMiBps: mibPerSec(pure.pages * PAGE_BYTES, pure.touchUs),
    pureRandomSwapInMiBps: pureRates.random,
    pureFaultP50Us: pure.faultP50Us,
    pureFaultP99Us: pure.faultP99Us,
    pureRandomFaults: pure.randomFaults,
    badPages: report.badPages + pure.badPages,
    meets: targetsMet(sequentialSwapInMiBps, randomSwapInMiBps, report.faultP99Us),
    meetsPure: targetsMet(pureRates.sequential, pureRates.random, pure.faultP99Us),
    engineReadahead: reports.engineReadahead ?? null,
  };
}

/** The device prober's report on `device` as figures. */
export function deviceFigures(
  name: string,
  device: string,
  report: DeviceProberReport,
): DeviceFigures {
  const sequentialReadMiBps = mibPerSec(report.bytes, report.seqReadUs);
  const randomReadMiBps = mibPerSec(report.randomReads * PAGE_BYTES, report.randomUs);
  return {
    device,
    name,
    writeMiBps: mibPerSec(report.bytes, report.writeUs),
    sequentialReadMiBps,
    randomReadMiBps,
    readP50Us: report.readP50Us,
    readP99Us: report.readP99Us,
    randomReads: report.randomReads,
    bytes: report.bytes,
    badPages: report.badPages,
    meets: targetsMet(sequentialReadMiBps, randomReadMiBps, report.readP99Us),
  };
}

const rate = (mibps: number) => `${mibps.toFixed(1).padStart(7)} MiB/s`;
const micros = (us: number) => `${us.toFixed(0).padStart(8)} us`;
const percent = (value: number) => `${value.toFixed(0).padStart(9)} %`;
const header = (title: string, rates: string[], latencies: string[]) =>
  [title.padEnd(25), ...rates.map((r) => r.padStart(13)), ...latencies.map((l) => l.padStart(11))]
    .join(" ");
const badPages = (count: number) => count === 0 ? "" : `  ${count} BAD PAGES`;

/** "meets seq, random 4K, p99" / "meets p99; misses seq, random 4K" for one row. */
export function describeTargetsMet(meets: TargetsMet): string {
  const names = [["seq", meets.sequential], ["random 4K", meets.random], [
    "p99",
    meets.p99,
  ]] as const;
  const met = names.filter(([, ok]) => ok).map(([name]) => name);
  const missed = names.filter(([, ok]) => !ok).map(([name]) => name);
  if (missed.length === 0) return `meets all (${met.join(", ")})`;
  if (met.length === 0) return `meets none (misses ${missed.join(", ")})`;
  return `meets ${met.join(", ")}; misses ${missed.join(", ")}`;
}

/** The human-readable tables and, under them, the targets each row meets. */
export function formatRemoteSwapBench(bench: RemoteSwapBench): string {
  const t = bench.targets;
  const ra = bench.readahead;
  const lines = [
    `prober: ${bench.sizeMiB} MiB under a ${bench.cacheMiB} MiB cgroup limit, ` +
    `${bench.randomPages} random 4 KiB reads; load average at start ${
      bench.loadAverage.join(" ")
    }, at end ` +
    bench.loadAverageAtEnd.join(" "),
    `swap readahead: vm.page-cluster ${ra.pageCluster} (up to ${4 << ra.pageCluster} KiB per fault${
      ra.pageCluster === ra.hostPageCluster
        ? ""
        : `; set for this run, the host's ${ra.hostPageCluster} restored after it`
    }), vma_ra_enabled ${ra.vmaReadahead}`,
    "seq cpu: share of the sequential phase the prober spent on CPU (faults, reclaim, check); " +
    "0-fill faults: first writes to fresh pages, no I/O (one thread's fault ceiling)",
    "",
    header("swap-in under reclaim", ["seq swap-in", "random 4K", "swap-out"], [
      "fault p50",
      "fault p99",
      "seq cpu",
    ]),
  ];
  for (const r of bench.results) {
    lines.push(
      `${r.name.padEnd(25)} ${rate(r.sequentialSwapInMiBps)} ${rate(r.randomSwapInMiBps)} ` +
        `${rate(r.swapOutMiBps)} ${micros(r.faultP50Us)} ${micros(r.faultP99Us)} ` +
        percent(r.sequentialCpuPercent) + badPages(r.badPages),
    );
  }
  lines.push(
    "",
    header("pure swap-in (no limit)", ["seq swap-in", "random 4K", "0-fill faults"], [
      "fault p50",
      "fault p99",
      "seq cpu",
    ]),
  );
  for (const r of bench.results) {
    lines.push(
      `${r.name.padEnd(25)} ${rate(r.pureSequentialSwapInMiBps)} ` +
        `${rate(r.pureRandomSwapInMiBps)} ${rate(r.zeroFillFaultMiBps)} ` +
        `${micros(r.pureFaultP50Us)} ` +
        `${micros(r.pureFaultP99Us)} ${percent(r.pureSequentialCpuPercent)}`,
    );
  }
  for (const r of bench.results) {
    const ra = r.engineReadahead;
    if (ra === null) continue;
    lines.push(
      `${r.name}: engine read-ahead answered ${ra.hits} reads, fetched ${
        (ra.bytes / MiB).toFixed(0)
      } MiB for ${(ra.readBytes / MiB).toFixed(0)} MiB read (both swap runs)`,
    );
  }
  if (bench.deviceResults.length > 0) {
    lines.push(
      "",
      header("device, direct I/O", ["write 1M", "seq read 1M", "random 4K"], [
        "read p50",
        "read p99",
      ]),
    );
    for (const d of bench.deviceResults) {
      lines.push(
        `${d.name.padEnd(25)} ${rate(d.writeMiBps)} ${rate(d.sequentialReadMiBps)} ` +
          `${rate(d.randomReadMiBps)} ${micros(d.readP50Us)} ${micros(d.readP99Us)}` +
          badPages(d.badPages),
      );
    }
  }
  lines.push(
    "",
    `targets: seq >= ${t.sequentialSwapInMiBps} MiB/s, random 4K >= ${t.randomSwapInMiBps} ` +
      `MiB/s, p99 <= ${t.faultP99Us} us (depth 1), judged on each table's figures`,
  );
  for (const r of bench.results) {
    lines.push(`under reclaim  ${r.name.padEnd(25)} ${describeTargetsMet(r.meets)}`);
  }
  for (const r of bench.results) {
    lines.push(`pure swap-in   ${r.name.padEnd(25)} ${describeTargetsMet(r.meetsPure)}`);
  }
  for (const d of bench.deviceResults) {
    lines.push(`device         ${d.name.padEnd(25)} ${describeTargetsMet(d.meets)}`);
  }
  return lines.join("\n");
}
