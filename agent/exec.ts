/**
 * `spirit exec`: run one unmodified command under a cache and bandwidth allocation through the
 * cgroup backend, in a cgroup of its own that is removed afterwards, and report what it did.
 * @module
 */
import { hardwareCountersAvailable } from "../ffi/perf_event.ts";
import { detectCgroups } from "./cgroup/mounts.ts";
import { findActiveSwap, readSwapDevices } from "./host/swaps.ts";
import { CgroupApp } from "./apps/cgroup_app.ts";
import type { OutputSink } from "./apps/output.ts";
import type { RawSample } from "./apps/app.ts";
import type { EnforceableLimits } from "./protocol.ts";

/** Why `spirit exec` will not run (not root, no such swap device, no memory cgroup). */
export class ExecRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExecRefusedError";
  }
}

/** What `spirit exec --json` prints (one document). */
export interface ExecResult {
  exitCode: number;
  /** Signal that ended the command, if any. */
  signal: string | null;
  durationSec: number;
  peakResidentBytes: number;
  swapInBytes: number;
  swapOutBytes: number;
  /** True on cgroup v1, where swap-out is estimated (see AppSample.swapOutEstimated). */
  swapOutEstimated: boolean;
  majorFaults: number;
  ioReadBytes: number;
  ioWriteBytes: number;
  cpuTimeSec: number | null;
  cacheBytes: number;
  bandwidthBytesPerSec: number;
  swapDevices: string[];
  cgroupVersion: 1 | 2;
  enforceable: EnforceableLimits;
}

/** Options of {@link runExec}. */
export interface ExecOptions {
  cacheBytes: number;
  bandwidthBytesPerSec: number;
  /** Swap device to throttle; default: every active swap device. */
  swapDevice?: string;
  /** Where the command's stdout and stderr go. */
  sink: OutputSink;
  /** Sampling interval for the peak figures (default 1000 ms). */
  sampleIntervalMs?: number;
  /** Aborting sends SIGTERM to the command (then SIGKILL after 2 s). */
  signal?: AbortSignal;
}

/** Checks the preconditions and returns the swap devices (paths and "major:minor"). */
export async function checkExecPreconditions(
  swapDevice: string | undefined,
): Promise<{ paths: string[]; devices: string[] }> {
  if (Deno.uid() !== 0) {
    throw new ExecRefusedError(
      "spirit exec needs root to create cgroups and set limits; run it with sudo",
    );
  }
  if (swapDevice !== undefined) {
    let swap;
    try {
      swap = await findActiveSwap(swapDevice);
    } catch (error) {
      throw new ExecRefusedError((error as Error).message);
    }
    if (swap.device === null) {
      throw new ExecRefusedError(`Cannot find the block device of swap ${swapDevice}`);
    }
    return { paths: [swap.path], devices: [swap.device] };
  }
  const active = (await readSwapDevices()).filter((s) => s.device !== null);
  if (active.length === 0) {
    throw new ExecRefusedError(
      "No active swap device: the bandwidth limit throttles swap traffic, so enable one (swapon) " +
        "or name it with --swap-device",
    );
  }
  return { paths: active.map((s) => s.path), devices: active.flatMap((s) => s.device ?? []) };
}

/** Runs `argv` under the allocation and returns its figures; the cgroup is always removed. */
export async function runExec(argv: string[], options: ExecOptions): Promise<ExecResult> {
  const swaps = await checkExecPreconditions(options.swapDevice);
  const layout = await detectCgroups();
  if (layout.memory === null) {
    throw new ExecRefusedError("No cgroup hierarchy with the memory controller is mounted");
  }
  const started = performance.now();
  const app = await CgroupApp.launch({
    appId: `exec-${Deno.pid}`,
    enforcement: "cgroup",
    argv,
    allocation: {
      cacheBytes: options.cacheBytes,
      bandwidthBytesPerSec: options.bandwidthBytesPerSec,
    },
  }, {
    layout,
    throttleDevices: swaps.devices,
    hardwareCounters: hardwareCountersAvailable(),
    sink: options.sink,
    onWarning: (message) => console.error(`spirit exec: ${message}`),
  });
  let peak = 0;
  let last: RawSample | null = null;
  const measure = async () => {
    const sample = await app.measure();
    peak = Math.max(peak, sample.residentBytes, sample.peakResidentBytes ?? 0);
    last = sample;
  };
  const onAbort = () => void app.stop({ graceMs: 2000 });
  options.signal?.addEventListener("abort", onAbort);
  const timer = setInterval(() => {
    measure().catch((error) =>
      console.error(`spirit exec: sampling failed: ${(error as Error).message}`)
    );
  }, options.sampleIntervalMs ?? 1000);
  try {
    const exit = await app.exited;
    const durationSec = (performance.now() - started) / 1000;
    clearInterval(timer);
    await measure();
    const final = last as RawSample | null;
    if (exit === null || final === null) throw new Error("The command's exit status is unknown");
    return {
      exitCode: exit.code,
      signal: exit.signal,
      durationSec,
      peakResidentBytes: peak,
      swapInBytes: final.swapInBytes,
      swapOutBytes: final.swapOutBytes,
      swapOutEstimated: final.swapOutEstimated,
      majorFaults: final.majorFaults,
      ioReadBytes: final.ioReadBytes,
      ioWriteBytes: final.ioWriteBytes,
      cpuTimeSec: final.cpuTimeMs === null ? null : final.cpuTimeMs / 1000,
      cacheBytes: options.cacheBytes,
      bandwidthBytesPerSec: options.bandwidthBytesPerSec,
      swapDevices: swaps.paths,
      cgroupVersion: app.cgroup.version,
      enforceable: app.enforceable(),
    };
  } finally {
    clearInterval(timer);
    options.signal?.removeEventListener("abort", onAbort);
    await app.stop({ graceMs: 0 });
  }
}
