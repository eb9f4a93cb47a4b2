/**
 * The figures of `spirit bench remote-swap` (pure): rates from the probers' reports, which of the
 * issue's targets each row meets, the `--json` document and the human-readable tables.
 * @module
 */
import type { DeviceProberReport } from "../remote_swap/bench/device_prober.ts";
import type { ProberReport } from "../remote_swap/bench/prober.ts";

const MiB = 1 << 20;
const PAGE_BYTES = 4096;

/** The targets. */
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

/** Figures of one swap device, through the kernel's swap path. */
export interface SwapFigures {
  device: string;
  /** "remote (tcp, c engine)", "remote (tcp, ts engine)" or "local loop file". */
  name: string;
  sequentialSwapInMiBps: number;
  randomSwapInMiBps: number;
  swapOutMiBps: number;
  faultP50Us: number;
  faultP99Us: number;
  randomFaults: number;
  /** Pages that read back wrong (must be 0). */
  badPages: number;
  meets: TargetsMet;
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

/** What `spirit bench remote-swap --json` prints. */
export interface RemoteSwapBench {
  sizeMiB: number;
  cacheMiB: number;
  randomPages: number;
  targets: typeof REMOTE_SWAP_TARGETS;
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

/** The swap prober's report on `device` as figures. */
export function swapFigures(name: string, device: string, report: ProberReport): SwapFigures {
  const sequentialSwapInMiBps = mibPerSec(report.seqSwappedPages * PAGE_BYTES, report.seqUs);
  const randomSwapInMiBps = mibPerSec(report.randomFaults * PAGE_BYTES, report.randomUs);
  return {
    device,
    name,
    sequentialSwapInMiBps,
    randomSwapInMiBps,
    swapOutMiBps: mibPerSec(report.fillSwappedPages * PAGE_BYTES, report.fillUs),
    faultP50Us: report.faultP50Us,
    faultP99Us: report.faultP99Us,
    randomFaults: report.randomFaults,
    badPages: report.badPages,
    meets: targetsMet(sequentialSwapInMiBps, randomSwapInMiBps, report.faultP99Us),
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
  const lines = [
    `prober: ${bench.sizeMiB} MiB under a ${bench.cacheMiB} MiB cgroup limit, ` +
    `${bench.randomPages} random 4 KiB reads; load average at start ${
      bench.loadAverage.join(" ")
    }, at end ` +
    bench.loadAverageAtEnd.join(" "),
    "",
    header("swap path", ["seq swap-in", "random 4K", "swap-out"], ["fault p50", "fault p99"]),
  ];
  for (const r of bench.results) {
    lines.push(
      `${r.name.padEnd(25)} ${rate(r.sequentialSwapInMiBps)} ${rate(r.randomSwapInMiBps)} ` +
        `${rate(r.swapOutMiBps)} ${micros(r.faultP50Us)} ${micros(r.faultP99Us)}` +
        badPages(r.badPages),
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
      `MiB/s, p99 <= ${t.faultP99Us} us (depth 1)`,
  );
  for (const r of bench.results) {
    lines.push(`swap path  ${r.name.padEnd(25)} ${describeTargetsMet(r.meets)}`);
  }
  for (const d of bench.deviceResults) {
    lines.push(`device     ${d.name.padEnd(25)} ${describeTargetsMet(d.meets)}`);
  }
  return lines.join("\n");
}
