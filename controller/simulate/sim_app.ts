/**
 * One simulated app under a simulated agent: it runs its phases in virtual time with the
 * allocation it was given, fills its cache from remote traffic after a change, and reports
 * what a real agent reports for it. A far-memory app (its client has SHARDS) reports its
 * miss-ratio curve; an unmodified program in a cgroup reports no curve, only swap counters,
 * major faults, resident memory and pressure, and throughput only when it has a source. Pure
 * (no I/O; time is passed in).
 * @module
 */
import type { RawSample } from "../../agent/apps/app.ts";
import type {
  Allocation,
  AppExit,
  AppState,
  AppStatus,
  EnforceableLimits,
  LaunchSpec,
  MrcReading,
  PressureReading,
} from "../../agent/protocol.ts";
import { seededRandom } from "../../workloads/random.ts";
import { curveInBytes } from "../auction/units.ts";
import type { SimAppSpec, SimPhase } from "./app_models.ts";
import { type RateModel, rateModel, ratesAt } from "./app_rates.ts";

/** Longest step of the integration, ms (the cache fills smoothly within a sample). */
const STEP_MS = 100;
/** Bytes of one page fault (swap-in or far-memory fetch). */
const PAGE_BYTES = 4096;
/** The bandwidth of an app whose swap device is not throttled (unlimited, in effect). */
const UNTHROTTLED_BYTES_PER_SEC = 1e15;

const FARMEM_ENFORCEABLE: EnforceableLimits = {
  cache: { enforced: true, via: "far-memory client page cache capacity (simulated)" },
  bandwidthRead: { enforced: true, via: "far-memory client token bucket (simulated)" },
  bandwidthWrite: { enforced: true, via: "far-memory client token bucket (simulated)" },
};

const CGROUP_ENFORCEABLE: EnforceableLimits = {
  cache: { enforced: true, via: "memory limit of the app's cgroup (simulated)" },
  bandwidthRead: { enforced: true, via: "I/O throttle on the swap device (simulated)" },
  bandwidthWrite: { enforced: true, via: "I/O throttle on the swap device (simulated)" },
};

const UNACCOUNTED_SWAP = "its swap device is not accounted or throttled (simulated)";

const CGROUP_UNACCOUNTED: EnforceableLimits = {
  cache: CGROUP_ENFORCEABLE.cache,
  bandwidthRead: { enforced: false, reason: UNACCOUNTED_SWAP },
  bandwidthWrite: { enforced: false, reason: UNACCOUNTED_SWAP },
};

/** A standard normal variate from a uniform generator (Box-Muller). */
function normal(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** A simulated app's process and counters. */
export class SimApp {
  readonly appId: string;
  readonly launch: LaunchSpec;
  readonly #spec: SimAppSpec;
  readonly #models: RateModel[];
  readonly #random: () => number;
  readonly #launchedAtMs: number;
  #allocation: Allocation;
  #atMs: number;
  #noise = 1;
  #state: AppState = "running";
  #exit: AppExit | null = null;
  #residentBytes = 0;
  #peakResidentBytes = 0;
  #opsTotal = 0;
  #readBytes = 0;
  #writeBytes = 0;
  #stallMs = 0;
  #stallShare = 0;

  constructor(launch: LaunchSpec, options: { spec: SimAppSpec; seed: number; nowMs: number }) {
    this.appId = launch.appId;
    this.launch = launch;
    this.#spec = options.spec;
    this.#models = options.spec.phases.map((p) => rateModel(p.model));
    this.#random = seededRandom(options.seed);
    this.#launchedAtMs = options.nowMs;
    this.#atMs = options.nowMs;
    this.#allocation = { ...launch.allocation };
    this.#drawNoise();
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#state === "running";
  }

  /** The far-memory server address it uses (`host:port`), if it is a far-memory workload. */
  get memserver(): string | null {
    if (this.launch.enforcement !== "farmem" || this.launch.program.kind !== "workload") {
      return null;
    }
    const args = this.launch.program.args;
    return args[args.indexOf("--memserver") + 1] ?? null;
  }

  #drawNoise(): void {
    const sigma = this.#spec.noise ?? 0.03;
    this.#noise = sigma > 0 ? Math.exp(sigma * normal(this.#random)) : 1;
  }

  /** The phase in force at `nowMs` (phases loop; one without a duration lasts for ever). */
  #phaseAt(nowMs: number): number {
    const phases: readonly SimPhase[] = this.#spec.phases;
    if (phases.length <= 1) return 0;
    const cycle = phases.reduce((a, p) => a + (p.durationMs ?? Infinity), 0);
    let t = Number.isFinite(cycle)
      ? (nowMs - this.#launchedAtMs) % cycle
      : nowMs - this.#launchedAtMs;
    for (const [i, phase] of phases.entries()) {
      const duration = phase.durationMs ?? Infinity;
      if (t < duration) return i;
      t -= duration;
    }
    return phases.length - 1;
  }

  /** Runs the app up to `nowMs` of virtual time. */
  advanceTo(nowMs: number): void {
    while (this.#state === "running" && this.#atMs < nowMs) {
      const stepMs = Math.min(STEP_MS, nowMs - this.#atMs);
      this.#step(stepMs);
      this.#atMs += stepMs;
    }
    this.#atMs = Math.max(this.#atMs, nowMs);
  }

  #step(stepMs: number): void {
    const index = this.#phaseAt(this.#atMs);
    const model = this.#models[index];
    const phase = this.#spec.phases[index];
    if (model === undefined || phase === undefined) return;
    const limit = Math.min(this.#allocation.cacheBytes, this.#spec.footprintBytes);
    const warm = this.#spec.warmup ?? true;
    const cacheBytes = warm ? Math.min(limit, this.#residentBytes) : limit;
    const rates = ratesAt(model, {
      cacheBytes,
      bandwidthBytesPerSec: this.#accounted
        ? this.#allocation.bandwidthBytesPerSec
        : UNTHROTTLED_BYTES_PER_SEC,
    });
    // Noise scales work done, but traffic never exceeds the bandwidth (the limiter holds it).
    const ceiling = rates.trafficBytesPerSec > 0 && this.#accounted
      ? this.#allocation.bandwidthBytesPerSec / rates.trafficBytesPerSec
      : Infinity;
    const factor = Math.min(this.#noise, Math.max(1, ceiling));
    const seconds = stepMs / 1000;
    const traffic = rates.trafficBytesPerSec * factor * seconds;
    const writeShare = phase.writeShare ?? 0;
    this.#opsTotal += rates.opsPerSec * factor * seconds;
    this.#readBytes += traffic * (1 - writeShare);
    this.#writeBytes += traffic * writeShare;
    this.#stallShare = rates.stallShare;
    this.#stallMs += rates.stallShare * stepMs;
    // A cache fills with the pages its misses bring in; with no traffic it holds what it uses.
    this.#residentBytes = rates.trafficBytesPerSec > 0 && warm
      ? Math.min(limit, this.#residentBytes + traffic * (1 - writeShare))
      : limit;
    this.#peakResidentBytes = Math.max(this.#peakResidentBytes, this.#residentBytes);
  }

  /** Applies a new allocation from now on (a shrink evicts at once; a grow fills over time). */
  setAllocation(allocation: Allocation): void {
    this.#allocation = { ...allocation };
    this.#residentBytes = Math.min(this.#residentBytes, allocation.cacheBytes);
  }

  /** The process ends: a crash (`code` non-zero or a signal) or a normal exit. */
  exit(exit: AppExit): void {
    if (this.#state !== "running") return;
    this.#state = exit.signal === "SIGTERM" ? "stopped" : "exited";
    this.#exit = exit;
  }

  /** What `list` and `launch` answer. */
  status(): AppStatus {
    return {
      appId: this.appId,
      enforcement: this.launch.enforcement,
      state: this.#state,
      pid: null,
      allocation: { ...this.#allocation },
      enforceable: this.#enforceable(),
      cgroups: {},
      launchedAtMs: this.#launchedAtMs,
      exit: this.#exit,
    };
  }

  #enforceable(): EnforceableLimits {
    if (this.launch.enforcement === "farmem") return FARMEM_ENFORCEABLE;
    return this.#accounted ? CGROUP_ENFORCEABLE : CGROUP_UNACCOUNTED;
  }

  /** Whether the agent sees (and throttles) the app's swap traffic. */
  get #accounted(): boolean {
    return this.launch.enforcement === "farmem" || this.#spec.swapAccounted !== false;
  }

  #mrc(): MrcReading {
    const model = this.#spec.phases[this.#phaseAt(this.#atMs)]?.model;
    if (this.launch.enforcement !== "farmem") {
      return { available: false, reason: "no hardware performance counters (simulated host)" };
    }
    if (model?.kind !== "mrc") {
      return { available: false, reason: "the far-memory client has no curve yet" };
    }
    return { available: true, source: "farmem", points: curveInBytes(model.missRatio) };
  }

  #pressure(): PressureReading {
    if (this.launch.enforcement === "farmem") {
      return {
        available: false,
        reason: "far-memory app: stalls are reported in stallMs by its client",
      };
    }
    const percent = 100 * this.#stallShare;
    const totalUs = Math.round(this.#stallMs * 1000);
    return {
      available: true,
      scope: "cgroup",
      someAvg10: percent,
      fullAvg10: percent,
      someTotalUs: totalUs,
      fullTotalUs: totalUs,
    };
  }

  /**
   * The phase a far-memory app with more than one reports (as the phased workload does through
   * its client); an unmodified program reports none.
   */
  #phaseReport(timeMs: number): { phase?: string } {
    const phases = this.#spec.phases;
    if (phases.length < 2 || this.launch.enforcement !== "farmem") return {};
    const index = this.#phaseAt(timeMs);
    return { phase: phases[index]?.label ?? `phase-${index + 1}` };
  }

  /** The sample the agent takes at `nowMs` (after advancing to it); draws the next noise. */
  sample(timeMs: number): RawSample {
    const farmem = this.launch.enforcement === "farmem";
    const throughput = this.launch.enforcement === "farmem" ? undefined : this.launch.throughput;
    const reportsOps = farmem || (throughput !== undefined && throughput.kind !== "none");
    const footprint = this.#spec.footprintBytes;
    // Traffic on a device the agent does not account is invisible to it (major faults are not).
    const seen = (bytes: number) => this.#accounted ? Math.round(bytes) : 0;
    const sample: RawSample = {
      appId: this.appId,
      timeMs,
      elapsedMs: timeMs - this.#launchedAtMs,
      state: this.#state,
      enforcement: this.launch.enforcement,
      allocation: { ...this.#allocation },
      enforceable: this.#enforceable(),
      opsTotal: reportsOps ? Math.floor(this.#opsTotal) : null,
      throughputSource: farmem ? "farmem" : throughput?.kind ?? "none",
      residentBytes: Math.round(this.#residentBytes),
      peakResidentBytes: farmem ? null : Math.round(this.#peakResidentBytes),
      swapBytes: farmem || !Number.isFinite(footprint)
        ? 0
        : Math.max(0, Math.round(footprint - this.#residentBytes)),
      swapInBytes: seen(this.#readBytes),
      swapOutBytes: seen(this.#writeBytes),
      swapOutEstimated: false,
      majorFaults: Math.round(this.#readBytes / PAGE_BYTES),
      ioReadBytes: farmem ? 0 : seen(this.#readBytes),
      ioWriteBytes: farmem ? 0 : seen(this.#writeBytes),
      cpuTimeMs: null,
      stallMs: farmem ? Math.round(this.#stallMs) : null,
      pressure: this.#pressure(),
      mrc: this.#mrc(),
      ...this.#phaseReport(timeMs),
    };
    this.#drawNoise();
    return sample;
  }
}
