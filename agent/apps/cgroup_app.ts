/**
 * An unmodified command (or an adopted existing cgroup) whose allocation is enforced through
 * cgroup limits, and whose metrics come from the cgroup, perf events and a configured
 * throughput source.
 * @module
 */
import { adoptCgroup, type Cgroup, createCgroup } from "../cgroup/cgroup.ts";
import type { CgroupLayout } from "../cgroup/mounts.ts";
import { parsePressure } from "../cgroup/stats.ts";
import { readControl } from "../cgroup/files.ts";
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
import { type OutputSink, pumpOutput } from "./output.ts";
import { exitOf, spawnApp } from "./spawn.ts";

/** What a cgroup app needs from its host. */
export interface CgroupAppContext {
  layout: CgroupLayout;
  /** "major:minor" of the devices to throttle (the swap devices). */
  throttleDevices: readonly string[];
  hardwareCounters: boolean;
  /** Receives the app's output bytes (log file, terminal). */
  sink: OutputSink;
  /** Called once the app's output is fully drained (to close a log file). */
  onOutputClosed?: () => void;
  onWarning?: (message: string) => void;
  /** cgroup directory name under `spirit/` (default: the app id). */
  cgroupName?: string;
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
    const onLine = (stream: "stdout" | "stderr", line: string) =>
      this.#throughput?.onLine(stream, line);
    this.#outputDone = Promise.all([
      pumpOutput(child.stdout, { name: "stdout", sink: options.context.sink, onLine }),
      pumpOutput(child.stderr, { name: "stderr", sink: options.context.sink, onLine }),
    ]).then(() => options.context.onOutputClosed?.());
    this.exited = child.status.then((status) => {
      this.#exit = exitOf(status);
      return this.#exit;
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
    const cgroup = await createCgroup(context.layout, context.cgroupName ?? spec.appId);
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
      return new CgroupApp({ spec, context, cgroup, enforcer, child, throughput });
    } catch (error) {
      await cgroup.remove();
      throw error;
    }
  }

  /** Adopts an existing cgroup: enforces and monitors it without owning its processes. */
  static async adopt(spec: CgroupAdoptLaunchSpec, context: CgroupAppContext): Promise<CgroupApp> {
    const cgroup = await adoptCgroup(context.layout, spec.path);
    const enforcer = new CgroupEnforcer(cgroup, context.throttleDevices, enforcerOptions(context));
    await enforcer.apply(spec.allocation);
    const throughput = throughputReader(spec.throughput ?? { kind: "none" });
    return new CgroupApp({ spec, context, cgroup, enforcer, child: null, throughput });
  }

  #state(): AppState {
    if (this.#stopped !== null) return "stopped";
    if (this.#child === null) return "running";
    return this.#exit === null ? "running" : "exited";
  }

  enforceable(): EnforceableLimits {
    return this.cgroup.enforceable(this.#context.throttleDevices);
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
    };
  }

  async setAllocation(allocation: Allocation): Promise<"immediate" | "stepping"> {
    if (this.#stopped !== null) throw new Error(`App ${this.appId} is stopped`);
    this.#allocation = allocation;
    return await this.#enforcer.apply(allocation);
  }

  async measure(): Promise<RawSample> {
    const timeMs = Date.now();
    const snapshot = await this.cgroup.readSnapshot(this.#context.throttleDevices);
    let opsTotal: number | null = null;
    try {
      opsTotal = (await this.#throughput?.read()) ?? null;
    } catch (error) {
      this.#context.onWarning?.(
        `Throughput source of ${this.appId} failed: ${(error as Error).message}`,
      );
    }
    const swapInBytes = snapshot.swapInBytes ?? 0;
    let swapOutBytes = snapshot.swapOutBytes;
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
    };
  }

  stop(options: { graceMs?: number } = {}): Promise<void> {
    this.#stopped ??= this.#stop(options.graceMs ?? 2000);
    return this.#stopped;
  }

  async #stop(graceMs: number): Promise<void> {
    this.#enforcer.cancel();
    if (this.#child === null) {
      await this.cgroup.clearLimits(this.#context.throttleDevices);
      return;
    }
    if (this.#exit === null) {
      for (const pid of await this.cgroup.pids()) {
        try {
          Deno.kill(pid, "SIGTERM");
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.exited,
        new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
      ]);
      clearTimeout(timer);
    }
    await this.cgroup.remove();
    await this.exited;
    await this.#outputDone;
    this.#perf?.close();
  }
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
