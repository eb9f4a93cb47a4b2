/**
 * An unmodified command (or an adopted existing cgroup) whose allocation is enforced through
 * cgroup limits, and whose metrics come from the cgroup, perf events and a configured
 * throughput source; optionally with a driver (a client program run beside it).
 * @module
 */
import { adoptCgroup, type Cgroup, createCgroup } from "../cgroup/cgroup.ts";
import type { CgroupLayout } from "../cgroup/mounts.ts";
import { parsePressure } from "../cgroup/stats.ts";
import { exists, readControl } from "../cgroup/files.ts";
import { CgroupEnforcer } from "../enforce/cgroup_enforcer.ts";
import { PerfMonitor } from "../monitor/perf_monitor.ts";
import { type ThroughputReader, throughputReader } from "../monitor/throughput.ts";
import type {
  Allocation,
  AppExit,
  AppState,
  AppStatus,
  CgroupAdoptLaunchSpec,
  CgroupCommandLaunchSpec,
  EnforceableLimits,
  PressureReading,
} from "../protocol.ts";
import type { ManagedApp, RawSample } from "./app.ts";
import { Driver } from "./driver.ts";
import { type OutputSink, pumpOutput } from "./output.ts";
import { assertRunnable, exitOf, spawnApp } from "./spawn.ts";
import { SwapTraffic } from "./swap_traffic.ts";
import { terminateCgroup } from "./terminate.ts";

/** What a cgroup app needs from its host. */
export interface CgroupAppContext {
  layout: CgroupLayout;
  /** "major:minor" of the devices to throttle (the swap devices) at launch. */
  throttleDevices: readonly string[];
  hardwareCounters: boolean;
  /** Receives the app's output bytes (log file, terminal). */
  sink: OutputSink;
  /** Called once the app's output is fully drained (to close a log file). */
  onOutputClosed?: () => void;
  onWarning?: (message: string) => void;
  /** cgroup directory name under `spirit/` (default: the app id). */
  cgroupName?: string;
  /** For an app with a driver: where its output goes, and how to run the spirit CLI. */
  driver?: { sink: OutputSink; onOutputClosed?: () => void; spiritCommand: readonly string[] };
}

/** An app enforced with cgroup limits. */
export class CgroupApp implements ManagedApp {
  readonly appId: string;
  readonly exited: Promise<AppExit | null>;
  readonly cgroup: Cgroup;
  readonly #spec: CgroupCommandLaunchSpec | CgroupAdoptLaunchSpec;
  readonly #context: CgroupAppContext;
  readonly #enforcer: CgroupEnforcer;
  readonly #child: Deno.ChildProcess | null;
  readonly #throughput: ThroughputReader | null;
  readonly #perf: PerfMonitor | null;
  readonly #launchedAtMs: number;
  readonly #outputDone: Promise<void>;
  readonly #swapTraffic = new SwapTraffic();
  #throttleDevices: readonly string[];
  #driver: Driver | null = null;
  #allocation: Allocation;
  #exit: AppExit | null = null;
  #stopped: Promise<void> | null = null;
  #swapOutEstimate = 0;

  private constructor(options: {
    spec: CgroupCommandLaunchSpec | CgroupAdoptLaunchSpec;
    context: CgroupAppContext;
    cgroup: Cgroup;
    enforcer: CgroupEnforcer;
    child: Deno.ChildProcess | null;
    throughput: ThroughputReader | null;
  }) {
    this.appId = options.spec.appId;
    this.#spec = options.spec;
    this.#context = options.context;
    this.cgroup = options.cgroup;
    this.#enforcer = options.enforcer;
    this.#child = options.child;
    this.#throughput = options.throughput;
    this.#throttleDevices = options.context.throttleDevices;
    this.#allocation = options.spec.allocation;
    this.#launchedAtMs = Date.now();
    const child = options.child;
    if (child === null) {
      this.#perf = null;
      this.#outputDone = Promise.resolve();
      this.exited = Promise.resolve(null);
      return;
    }
    this.#perf = new PerfMonitor(child.pid, { hardwareCounters: options.context.hardwareCounters });
    const onLine = (stream: "stdout" | "stderr", line: string) => {
      if (!readsDriver(options.spec)) this.#throughput?.onLine(stream, line);
    };
    this.#outputDone = Promise.all([
      pumpOutput(child.stdout, { name: "stdout", sink: options.context.sink, onLine }),
      pumpOutput(child.stderr, { name: "stderr", sink: options.context.sink, onLine }),
    ]).then(() => options.context.onOutputClosed?.());
    this.exited = child.status.then((status) => {
      this.#exit = exitOf(status);
      // The driver has nothing left to drive.
      this.#driver?.stop().catch((error) =>
        this.#context.onWarning?.(`Stopping the driver of ${this.appId}: ${String(error)}`)
      );
      return this.#exit;
    });
  }

  /** Starts the spec's driver (if any) beside the app; on failure the app is stopped too. */
  async #startDriver(): Promise<void> {
    const spec = this.#spec.driver;
    const output = this.#context.driver;
    if (spec === undefined) return;
    if (output === undefined) {
      throw new Error(`No output configured for the driver of ${this.appId}`);
    }
    try {
      this.#driver = await Driver.start(spec, {
        layout: this.#context.layout,
        appId: this.appId,
        spiritCommand: output.spiritCommand,
        sink: output.sink,
        ...(output.onOutputClosed === undefined ? {} : { onOutputClosed: output.onOutputClosed }),
        onLine: (stream, line) => {
          if (readsDriver(this.#spec)) this.#throughput?.onLine(stream, line);
        },
      });
    } catch (error) {
      await this.stop({ graceMs: 0 });
      throw new Error(`Cannot start the driver of ${this.appId}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const driver = this.#driver;
    // An app that ended while its driver was starting: nothing to drive.
    if (this.#exit !== null) await driver.stop();
    driver.exited.then((exit) => {
      if (driver.stopping || this.#stopped !== null || this.#exit !== null) return;
      this.#context.onWarning?.(
        `The driver of ${this.appId} exited by itself (code ${exit.code}${
          exit.signal === null ? "" : `, signal ${exit.signal}`
        }); see ${this.appId}.driver.log`,
      );
    });
  }

  /**
   * Creates the app's cgroup with its allocation in force, then starts the command inside it.
   * On any failure the cgroup is removed again.
   */
  static async launch(
    spec: CgroupCommandLaunchSpec,
    context: CgroupAppContext,
  ): Promise<CgroupApp> {
    const [program] = spec.argv;
    if (program === undefined) throw new RangeError(`App ${spec.appId} has an empty argv`);
    await assertRunnable(program, {
      ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
      ...(spec.env?.PATH === undefined ? {} : { path: spec.env.PATH }),
    });
    const cgroup = await createCgroup(context.layout, context.cgroupName ?? spec.appId);
    let app: CgroupApp;
    try {
      const enforcer = new CgroupEnforcer(
        cgroup,
        context.throttleDevices,
        enforcerOptions(context),
      );
      await enforcer.apply(spec.allocation);
      const throughput = throughputReader(spec.throughput ?? { kind: "none" });
      const child = spawnApp(spec.argv, {
        procsFiles: cgroup.procsFiles(),
        ...(spec.env === undefined ? {} : { env: spec.env }),
        ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
      });
      app = new CgroupApp({ spec, context, cgroup, enforcer, child, throughput });
    } catch (error) {
      await cgroup.remove();
      throw error;
    }
    await app.#startDriver();
    return app;
  }

  /** Adopts an existing cgroup: enforces and monitors it without owning its processes. */
  static async adopt(spec: CgroupAdoptLaunchSpec, context: CgroupAppContext): Promise<CgroupApp> {
    const cgroup = await adoptCgroup(context.layout, spec.path);
    const enforcer = new CgroupEnforcer(cgroup, context.throttleDevices, enforcerOptions(context));
    await enforcer.apply(spec.allocation);
    const throughput = throughputReader(spec.throughput ?? { kind: "none" });
    const app = new CgroupApp({ spec, context, cgroup, enforcer, child: null, throughput });
    await app.#startDriver();
    return app;
  }

  #state(): AppState {
    if (this.#stopped !== null) return "stopped";
    if (this.#child === null) return "running";
    return this.#exit === null ? "running" : "exited";
  }

  enforceable(): EnforceableLimits {
    return this.cgroup.enforceable(this.#throttleDevices);
  }

  /** "major:minor" of the swap devices throttled and measured now. */
  throttleDevices(): readonly string[] {
    return this.#throttleDevices;
  }

  /**
   * Throttles and measures `devices` from now on (the node's swap devices changed): the current
   * bandwidth limit is written on the new ones and removed from those left (where they still
   * exist). Traffic already counted on a device that left stays counted.
   */
  async setThrottleDevices(devices: readonly string[]): Promise<void> {
    const added = devices.filter((d) => !this.#throttleDevices.includes(d));
    const removed = this.#throttleDevices.filter((d) => !devices.includes(d));
    this.#throttleDevices = [...devices];
    this.#enforcer.setDevices(devices);
    if (this.#stopped !== null) return;
    await this.cgroup.writeBandwidth(added, this.#allocation.bandwidthBytesPerSec);
    const present = [];
    for (const device of removed) {
      if (await exists(`/sys/dev/block/${device}`)) present.push(device);
    }
    await this.cgroup.clearBandwidth(present);
  }

  status(): AppStatus {
    return {
      appId: this.appId,
      enforcement: this.#spec.enforcement,
      state: this.#state(),
      pid: this.#child?.pid ?? null,
      allocation: this.#allocation,
      enforceable: this.enforceable(),
      cgroups: { ...this.cgroup.paths },
      launchedAtMs: this.#launchedAtMs,
      exit: this.#exit,
      ...(this.#driver === null ? {} : { driver: this.#driver.status() }),
    };
  }

  async setAllocation(allocation: Allocation): Promise<"immediate" | "stepping"> {
    if (this.#stopped !== null) throw new Error(`App ${this.appId} is stopped`);
    this.#allocation = allocation;
    return await this.#enforcer.apply(allocation);
  }

  async measure(): Promise<RawSample> {
    const timeMs = Date.now();
    const snapshot = await this.cgroup.readSnapshot(this.#throttleDevices);
    let opsTotal: number | null = null;
    try {
      opsTotal = (await this.#throughput?.read()) ?? null;
    } catch (error) {
      this.#context.onWarning?.(
        `Throughput source of ${this.appId} failed: ${(error as Error).message}`,
      );
    }
    const onDevices = this.#swapTraffic.update(snapshot.swapDeviceBytes);
    const swapInBytes = snapshot.swapInBytes ?? onDevices.readBytes;
    // v2 charges swap-out writes to the app's cgroup; v1 does not (estimated below).
    let swapOutBytes = snapshot.swapOutBytes ??
      (this.cgroup.version === 2 && this.#throttleDevices.length > 0 ? onDevices.writeBytes : null);
    const swapOutEstimated = swapOutBytes === null;
    if (swapOutBytes === null) {
      // v1 does not account swap-out per cgroup: every page in swap or read back was written once.
      this.#swapOutEstimate = Math.max(this.#swapOutEstimate, snapshot.swapBytes + swapInBytes);
      swapOutBytes = this.#swapOutEstimate;
    }
    return {
      appId: this.appId,
      timeMs,
      elapsedMs: timeMs - this.#launchedAtMs,
      state: this.#state(),
      enforcement: this.#spec.enforcement,
      allocation: this.#allocation,
      enforceable: this.enforceable(),
      opsTotal,
      throughputSource: this.#spec.throughput?.kind ?? "none",
      residentBytes: snapshot.residentBytes,
      peakResidentBytes: snapshot.peakResidentBytes,
      swapBytes: snapshot.swapBytes,
      swapInBytes,
      swapOutBytes,
      swapOutEstimated,
      majorFaults: snapshot.majorFaults,
      ioReadBytes: snapshot.ioReadBytes,
      ioWriteBytes: snapshot.ioWriteBytes,
      cpuTimeMs: this.#perf?.cpuTimeMs() ?? null,
      stallMs: null,
      pressure: snapshot.pressure === null
        ? await systemPressure()
        : { available: true, scope: "cgroup", ...snapshot.pressure },
      mrc: this.#perf?.mrc() ??
        { available: false, reason: "adopted cgroup: no process to attach perf sampling to" },
      ...(snapshot.workingset.refaultTotal === null
        ? {}
        : { workingsetRefaultTotal: snapshot.workingset.refaultTotal }),
      ...(snapshot.workingset.activateTotal === null
        ? {}
        : { workingsetActivateTotal: snapshot.workingset.activateTotal }),
    };
  }

  stop(options: { graceMs?: number } = {}): Promise<void> {
    this.#stopped ??= this.#stop(options.graceMs ?? 2000);
    return this.#stopped;
  }

  async #stop(graceMs: number): Promise<void> {
    this.#enforcer.cancel();
    // The driver first: it must not see the server vanish and report errors.
    await this.#driver?.stop(graceMs);
    if (this.#child === null) {
      await this.cgroup.clearLimits(this.#throttleDevices);
      return;
    }
    await terminateCgroup(this.cgroup, {
      exited: this.exited,
      running: this.#exit === null,
      graceMs,
    });
    await this.#outputDone;
    this.#perf?.close();
  }
}

/** True when the app's throughput is read from its driver's output. */
function readsDriver(spec: CgroupCommandLaunchSpec | CgroupAdoptLaunchSpec): boolean {
  return spec.throughput?.kind === "log" && spec.throughput.from === "driver";
}

function enforcerOptions(context: CgroupAppContext) {
  return context.onWarning === undefined ? {} : { onWarning: context.onWarning };
}

/** System-wide memory PSI (cgroup v1 has no per-cgroup PSI). */
async function systemPressure(): Promise<PressureReading> {
  const text = await readControl("/proc/pressure/memory");
  if (text === null) {
    return { available: false, reason: "the kernel has no PSI (/proc/pressure/memory missing)" };
  }
  return { available: true, scope: "system", ...parsePressure(text) };
}
