/**
 * `spirit bench remote-swap [--json]`: what an unmodified program gets from the remote swap
 * device, beside a loop-device swap on a local file measured in the same run. A C prober in a
 * memory cgroup (limit well below its memory) fills its memory (swap-out), reads it back in
 * order (sequential swap-in) and then reads random 4 KiB pages one at a time (depth-1 fault
 * latency, random swap-in). The memory server runs on loopback (TCP). Needs root, /dev/fuse,
 * gcc and util-linux. Targets from issue 9: sequential swap-in >= 150 MiB/s, random 4 KiB
 * >= 30 MiB/s, p99 fault latency <= 1 ms.
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { runExec } from "../agent/exec.ts";
import { sizeOption } from "../common/cli_options.ts";
import { spawnMemserver } from "../memserver/spawn.ts";
import {
  buildProber,
  parseProberReport,
  proberArgv,
  type ProberReport,
} from "../remote_swap/bench/prober.ts";
import { removeDevice } from "../remote_swap/down.ts";
import type { EngineKind } from "../remote_swap/protocol.ts";
import {
  attachLoop,
  detachLoop,
  disableSwap,
  enableSwap,
  makeSwap,
} from "../remote_swap/system.ts";
import { startRemoteSwap } from "../remote_swap/up.ts";

const MiB = 1 << 20;

/** The targets. */
export const REMOTE_SWAP_TARGETS = {
  sequentialSwapInMiBps: 150,
  randomSwapInMiBps: 30,
  faultP99Us: 1000,
} as const;

/** Figures of one swap device. */
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
}

/** What `spirit bench remote-swap --json` prints. */
export interface RemoteSwapBench {
  sizeMiB: number;
  cacheMiB: number;
  randomPages: number;
  targets: typeof REMOTE_SWAP_TARGETS;
  /** Load average when the run started (the machine may be shared). */
  loadAverage: number[];
  results: SwapFigures[];
}

function figures(name: string, device: string, report: ProberReport): SwapFigures {
  const mibps = (pages: number, us: number) => us <= 0 ? 0 : (pages * 4096 / MiB) / (us / 1e6);
  return {
    device,
    name,
    sequentialSwapInMiBps: mibps(report.seqSwappedPages, report.seqUs),
    randomSwapInMiBps: mibps(report.randomFaults, report.randomUs),
    swapOutMiBps: mibps(report.fillSwappedPages, report.fillUs),
    faultP50Us: report.faultP50Us,
    faultP99Us: report.faultP99Us,
    randomFaults: report.randomFaults,
    badPages: report.badPages,
  };
}

/** Runs the prober on `device` in a cgroup of `cacheMiB`; returns its report. */
async function probe(
  device: string,
  options: { proberArgv: string[]; cacheMiB: number },
): Promise<ProberReport> {
  let stdout = "";
  const decoder = new TextDecoder();
  const result = await runExec(options.proberArgv, {
    cacheBytes: options.cacheMiB * MiB,
    bandwidthBytesPerSec: 100e9,
    swapDevice: device,
    sink: (stream, bytes) => {
      if (stream === "stdout") stdout += decoder.decode(bytes);
    },
  });
  if (result.exitCode !== 0) {
    throw new Error(`the swap prober failed on ${device} (exit ${result.exitCode}): ${stdout}`);
  }
  return parseProberReport(stdout);
}

/** A loop-device swap on a local file (the comparison), removed by the returned function. */
async function localLoopSwap(
  sizeBytes: number,
): Promise<{ device: string; remove: () => Promise<void> }> {
  const file = await Deno.makeTempFile({ dir: "/var/tmp", prefix: "spirit-bench-swap-" });
  let device: string | null = null;
  const remove = async () => {
    if (device !== null) {
      await disableSwap(device);
      await detachLoop(device);
    }
    await Deno.remove(file);
  };
  try {
    await Deno.truncate(file, sizeBytes);
    device = await attachLoop(file);
    await makeSwap(device, "spirit-bench");
    await enableSwap(device, 32767);
    return { device, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** Runs the benchmark; `log` gets progress lines. */
export async function runRemoteSwapBench(options: {
  sizeMiB: number;
  cacheMiB: number;
  randomPages: number;
  engines: EngineKind[];
  log: (line: string) => void;
}): Promise<RemoteSwapBench> {
  if (Deno.uid() !== 0) {
    throw new Error("spirit bench remote-swap needs root (cgroups, swap, FUSE)");
  }
  const loadAverage = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).map(Number);
  const dir = await Deno.makeTempDir({ prefix: "spirit-bench-remote-swap-" });
  const prober = await buildProber();
  const results: SwapFigures[] = [];
  const argv = proberArgv(prober, {
    sizeMiB: options.sizeMiB,
    randomPages: options.randomPages,
    seed: 7,
  });
  try {
    const tokenFile = `${dir}/token`;
    await Deno.writeTextFile(tokenFile, `${crypto.randomUUID()}\n`, { mode: 0o600 });
    const memserver = await spawnMemserver({
      tokenFile,
      capacity: `${options.sizeMiB * 2}MiB`,
    });
    try {
      for (const engine of options.engines) {
        const name = `remote (tcp, ${engine} engine)`;
        options.log(`${name}: starting the device`);
        const root = `${dir}/state`;
        const up = await startRemoteSwap({
          memserver: `${memserver.hostname}:${memserver.port}`,
          tokenFile,
          sizeBytes: options.sizeMiB * 2 * MiB,
          transport: "tcp",
          priority: 32767,
          engine,
          root,
        });
        try {
          options.log(`${name}: probing ${up.device}`);
          results.push(
            figures(
              name,
              up.device,
              await probe(up.device, { proberArgv: argv, cacheMiB: options.cacheMiB }),
            ),
          );
        } finally {
          await removeDevice(root, up.id);
        }
      }
    } finally {
      await memserver.stop();
    }
    options.log("local loop file: starting the device");
    const local = await localLoopSwap(options.sizeMiB * 2 * MiB);
    try {
      options.log(`local loop file: probing ${local.device}`);
      results.push(
        figures(
          "local loop file",
          local.device,
          await probe(local.device, { proberArgv: argv, cacheMiB: options.cacheMiB }),
        ),
      );
    } finally {
      await local.remove();
    }
  } finally {
    await prober.remove();
    await Deno.remove(dir, { recursive: true });
  }
  return {
    sizeMiB: options.sizeMiB,
    cacheMiB: options.cacheMiB,
    randomPages: options.randomPages,
    targets: REMOTE_SWAP_TARGETS,
    loadAverage,
    results,
  };
}

/** The human-readable table. */
export function formatRemoteSwapBench(bench: RemoteSwapBench): string {
  const t = bench.targets;
  const lines = [
    `prober: ${bench.sizeMiB} MiB under a ${bench.cacheMiB} MiB cgroup limit, ` +
    `${bench.randomPages} random 4 KiB reads; load average at start ${bench.loadAverage.join(" ")}`,
    "device                    seq swap-in   random 4K   swap-out    fault p50   fault p99",
  ];
  for (const r of bench.results) {
    lines.push(
      `${r.name.padEnd(25)} ${r.sequentialSwapInMiBps.toFixed(1).padStart(7)} MiB/s ` +
        `${r.randomSwapInMiBps.toFixed(1).padStart(7)} MiB/s ${
          r.swapOutMiBps.toFixed(1).padStart(7)
        } MiB/s ` +
        `${r.faultP50Us.toFixed(0).padStart(8)} us ${r.faultP99Us.toFixed(0).padStart(8)} us` +
        (r.badPages === 0 ? "" : `  ${r.badPages} BAD PAGES`),
    );
  }
  lines.push(
    `targets (remote): seq >= ${t.sequentialSwapInMiBps} MiB/s, random >= ${t.randomSwapInMiBps} ` +
      `MiB/s, p99 <= ${t.faultP99Us} us`,
  );
  return lines.join("\n");
}

/** Builds `spirit bench remote-swap`. */
export function remoteSwapBenchCommand() {
  return new Command("remote-swap")
    .description(
      "Swap-in/out rates and fault latency of the remote swap device vs a local loop file",
    )
    .option("--size <size>", "prober memory", sizeOption, 256 * MiB)
    .option("--cache <size>", "its cgroup memory limit", sizeOption, 64 * MiB)
    .option("--random-pages <n>", "random 4 KiB reads", (v) => Number(v), 4000)
    .addOption(
      new Option("--engine <kinds>", "data paths to measure: c, ts or c,ts").default("c"),
    )
    .option("--json", "print exactly one JSON document")
    .action(async (options) => {
      if (Deno.uid() !== 0) {
        // `spirit bench all` goes on with the other targets.
        console.error("spirit bench remote-swap: needs root (cgroups, swap, FUSE); skipped");
        Deno.exitCode = 1;
        return;
      }
      const engines = options.engine.split(",").map((e) => e.trim());
      if (!engines.every((e): e is EngineKind => e === "c" || e === "ts")) {
        console.error(
          `spirit bench remote-swap: --engine ${options.engine}: expected c, ts or c,ts`,
        );
        Deno.exit(2);
      }
      const bench = await runRemoteSwapBench({
        sizeMiB: Math.round(options.size / MiB),
        cacheMiB: Math.round(options.cache / MiB),
        randomPages: options.randomPages,
        engines,
        log: (line) => console.error(`bench remote-swap: ${line}`),
      });
      console.log(options.json ? JSON.stringify(bench) : formatRemoteSwapBench(bench));
    });
}
