/**
 * `spirit bench remote-swap [--json]`: what an unmodified program gets from the remote swap
 * device, beside a loop-device swap on a local file measured in the same run. A C prober in a
 * memory cgroup (limit well below its memory) fills its memory (swap-out), reads it back in
 * order (sequential swap-in) and then reads random 4 KiB pages one at a time (depth-1 fault
 * latency, random swap-in), twice: under the limit (swap-in under reclaim) and with the limit
 * lifted before each read phase (pure swap-in). Then the bench swaps the device off (it owns it) and a second C
 * prober reads and writes it directly (O_DIRECT): the device's own speed, without the kernel's
 * swap code. The memory server runs on loopback (TCP). Needs root, /dev/fuse,
 * gcc and util-linux. Targets from issue 9: sequential swap-in >= 150 MiB/s, random 4 KiB
 * >= 30 MiB/s, p99 fault latency <= 1 ms.
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { runExec } from "../agent/exec.ts";
import { readSwapDevices } from "../agent/host/swaps.ts";
import { sizeOption } from "../common/cli_options.ts";
import { spawnMemserver } from "../memserver/spawn.ts";
import {
  buildProber,
  parseProberReport,
  proberArgv,
  type ProberMode,
  type ProberReport,
} from "../remote_swap/bench/prober.ts";
import {
  buildDeviceProber,
  deviceProberArgv,
  runDeviceProber,
} from "../remote_swap/bench/device_prober.ts";
import type { CProgram } from "../remote_swap/bench/c_program.ts";
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
import { listDevices } from "../remote_swap/status.ts";
import {
  type DeviceFigures,
  deviceFigures,
  type EngineReadahead,
  formatRemoteSwapBench,
  REMOTE_SWAP_TARGETS,
  type RemoteSwapBench,
  type SwapFigures,
  swapFigures,
  type SwapReadahead,
} from "./remote_swap_bench_report.ts";

const MiB = 1 << 20;

/** The 1, 5 and 15 minute load averages. */
async function readLoadAverage(): Promise<number[]> {
  return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).map(Number);
}

const PAGE_CLUSTER = "/proc/sys/vm/page-cluster";

async function readPageCluster(): Promise<number> {
  return Number((await Deno.readTextFile(PAGE_CLUSTER)).trim());
}

/** The kernel's swap readahead settings; `hostPageCluster` is vm.page-cluster before the run. */
async function readSwapReadahead(hostPageCluster: number): Promise<SwapReadahead> {
  const vma = await Deno.readTextFile("/sys/kernel/mm/swap/vma_ra_enabled").catch(() => "false");
  return {
    pageCluster: await readPageCluster(),
    hostPageCluster,
    vmaReadahead: vma.trim() === "true",
  };
}

/** Runs the swap prober on `device` in a cgroup of `cacheMiB`; returns its report. */
export async function runSwapProber(
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

/** Measures `device`: through swap, then (swapped off) directly; returns both figures. */
async function measure(
  name: string,
  device: string,
  options: {
    swapProberArgv: (mode: ProberMode) => string[];
    deviceProber: CProgram;
    cacheMiB: number;
    sizeMiB: number;
    randomPages: number;
    log: (line: string) => void;
    /** The engine's read-ahead counters so far (remote devices with the C engine). */
    engineReadahead?: () => Promise<EngineReadahead | null>;
  },
): Promise<{ swap: SwapFigures; direct: DeviceFigures }> {
  const others = (await readSwapDevices()).filter((s) => s.path !== device);
  if (others.length > 0) {
    // The kernel spreads pages over swap devices of equal priority: those rows are mixed.
    options.log(
      `warning: other active swap devices (${
        others.map((s) => `${s.path} priority ${s.priority}`).join(", ")
      }) may take some of ${name}'s pages`,
    );
  }
  const reports = {} as Record<ProberMode, ProberReport>;
  for (const mode of ["reclaim", "pure"] as const) {
    options.log(`${name}: probing ${device} through swap (${mode})`);
    const argv = options.swapProberArgv(mode);
    reports[mode] = await runSwapProber(device, { proberArgv: argv, cacheMiB: options.cacheMiB });
  }
  const engineReadahead = await options.engineReadahead?.() ?? null;
  const swap = swapFigures(name, device, { ...reports, engineReadahead });
  await disableSwap(device);
  options.log(`${name}: swapped off; probing ${device} directly (O_DIRECT)`);
  const report = await runDeviceProber(
    deviceProberArgv(options.deviceProber, {
      device,
      sizeMiB: options.sizeMiB,
      randomReads: options.randomPages,
      seed: 11,
    }),
  );
  return { swap, direct: deviceFigures(name, device, report) };
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

/** Options of {@link runRemoteSwapBench}. */
export interface RemoteSwapBenchOptions {
  sizeMiB: number;
  cacheMiB: number;
  randomPages: number;
  engines: EngineKind[];
  /** vm.page-cluster for the run (the host's value is restored after it); default: unchanged. */
  pageCluster?: number;
  /** Gets progress lines. */
  log: (line: string) => void;
}

/** Runs the benchmark. */
export async function runRemoteSwapBench(
  options: RemoteSwapBenchOptions,
): Promise<RemoteSwapBench> {
  if (Deno.uid() !== 0) {
    throw new Error("spirit bench remote-swap needs root (cgroups, swap, FUSE)");
  }
  const hostPageCluster = await readPageCluster();
  if (options.pageCluster === undefined || options.pageCluster === hostPageCluster) {
    return await runRemoteSwapBenchAs(hostPageCluster, options);
  }
  options.log(
    `vm.page-cluster ${options.pageCluster} for this run (the host has ${hostPageCluster})`,
  );
  await Deno.writeTextFile(PAGE_CLUSTER, `${options.pageCluster}\n`);
  try {
    return await runRemoteSwapBenchAs(hostPageCluster, options);
  } finally {
    await Deno.writeTextFile(PAGE_CLUSTER, `${hostPageCluster}\n`);
    options.log(`vm.page-cluster ${hostPageCluster} restored`);
  }
}

async function runRemoteSwapBenchAs(
  hostPageCluster: number,
  options: RemoteSwapBenchOptions,
): Promise<RemoteSwapBench> {
  const loadAverage = await readLoadAverage();
  const readahead = await readSwapReadahead(hostPageCluster);
  const dir = await Deno.makeTempDir({ prefix: "spirit-bench-remote-swap-" });
  const prober = await buildProber();
  const deviceProber = await buildDeviceProber().catch(async (error) => {
    await prober.remove();
    throw error;
  });
  const results: SwapFigures[] = [];
  const deviceResults: DeviceFigures[] = [];
  const measureOptions = {
    swapProberArgv: (mode: ProberMode) =>
      proberArgv(prober, {
        sizeMiB: options.sizeMiB,
        randomPages: options.randomPages,
        seed: 7,
        mode,
      }),
    deviceProber,
    cacheMiB: options.cacheMiB,
    sizeMiB: options.sizeMiB,
    randomPages: options.randomPages,
    log: options.log,
  };
  const record = (figures: { swap: SwapFigures; direct: DeviceFigures }) => {
    results.push(figures.swap);
    deviceResults.push(figures.direct);
  };
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
        const engineReadahead = async (): Promise<EngineReadahead | null> => {
          const status = (await listDevices(root)).devices.find((d) => d.id === up.id);
          if (
            status === undefined || status.readaheadHits === null ||
            status.readaheadBytes === null
          ) return null;
          return {
            hits: status.readaheadHits,
            bytes: status.readaheadBytes,
            readBytes: status.bytesRead,
          };
        };
        try {
          record(await measure(name, up.device, { ...measureOptions, engineReadahead }));
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
      record(await measure("local loop file", local.device, measureOptions));
    } finally {
      await local.remove();
    }
  } finally {
    await prober.remove();
    await deviceProber.remove();
    await Deno.remove(dir, { recursive: true });
  }
  return {
    sizeMiB: options.sizeMiB,
    cacheMiB: options.cacheMiB,
    randomPages: options.randomPages,
    targets: REMOTE_SWAP_TARGETS,
    readahead,
    loadAverage,
    loadAverageAtEnd: await readLoadAverage(),
    results,
    deviceResults,
  };
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
    .option(
      "--page-cluster <n>",
      "vm.page-cluster (0-10) for this run, restored after it (host-wide meanwhile); " +
        "default: the host's",
      (v) => Number(v),
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
      const pageCluster = options.pageCluster;
      if (
        pageCluster !== undefined &&
        !(Number.isInteger(pageCluster) && pageCluster >= 0 && pageCluster <= 10)
      ) {
        console.error(
          `spirit bench remote-swap: --page-cluster ${pageCluster}: expected an integer 0-10`,
        );
        Deno.exit(2);
      }
      const bench = await runRemoteSwapBench({
        sizeMiB: Math.round(options.size / MiB),
        cacheMiB: Math.round(options.cache / MiB),
        randomPages: options.randomPages,
        engines,
        ...(pageCluster === undefined ? {} : { pageCluster }),
        log: (line) => console.error(`bench remote-swap: ${line}`),
      });
      console.log(options.json ? JSON.stringify(bench) : formatRemoteSwapBench(bench));
    });
}
