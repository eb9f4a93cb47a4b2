/**
 * Runs a workload on a page cache for a duration (or until stopped), with an optional warm-up,
 * and builds the result document and control-channel samples.
 * @module
 */
import type { FarmemSample } from "../common/farmem_control.ts";
import type { PageCache } from "../memserver/client/page_cache.ts";
import type { Workload } from "./workload.ts";

/** The document `spirit workload ... --json` prints. */
export interface WorkloadResult {
  workload: string;
  /** Measured window (after warm-up). */
  durationMs: number;
  opsTotal: number;
  opsPerSec: number;
  hitRatio: number;
  accesses: number;
  hits: number;
  misses: number;
  remoteReadBytes: number;
  remoteWriteBytes: number;
  remoteBytesPerSec: number;
  stallMs: number;
  cacheBytes: number;
  bandwidthBytesPerSec: number;
  datasetBytes: number;
  mrc: Array<[number, number]>;
  mrcSampleRate: number;
  details: Record<string, unknown>;
}

/** Options of {@linkcode WorkloadRunner}. */
export interface RunOptions {
  /** Stop after this long (after warm-up); Infinity runs until stop(). */
  durationMs: number;
  /** Run this long first, then zero the counters and the MRC histogram (default 0). */
  warmupMs?: number;
  /** Yield to the event loop at least this often so control requests are served (default 20). */
  yieldEveryMs?: number;
}

/** Drives one workload; `sample()` and `stop()` may be called while `run()` is in progress. */
export class WorkloadRunner {
  readonly cache: PageCache;
  readonly workload: Workload;
  readonly #startedMs = performance.now();
  #opsTotal = 0;
  #stopped = false;
  #measureStartMs = performance.now();
  #measureOpsStart = 0;
  #baseRead = 0;
  #baseWrite = 0;

  /** Pairs a workload with its cache. */
  constructor(cache: PageCache, workload: Workload) {
    this.cache = cache;
    this.workload = workload;
  }

  /** Asks `run()` to return after the current step (and releases limiter waiters). */
  stop(): void {
    this.#stopped = true;
    this.cache.limiter.drain();
  }

  /** True once stop() was called. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Runs until the duration is over or stop() is called. */
  async run(options: RunOptions): Promise<WorkloadResult> {
    const warmupMs = options.warmupMs ?? 0;
    const yieldEveryMs = options.yieldEveryMs ?? 20;
    let lastYield = performance.now();
    const begin = performance.now();
    let measuring = warmupMs <= 0;
    if (measuring) this.#beginMeasurement();
    while (!this.#stopped) {
      const now = performance.now();
      if (!measuring && now - begin >= warmupMs) {
        measuring = true;
        this.#beginMeasurement();
      }
      if (measuring && now - this.#measureStartMs >= options.durationMs) break;
      this.#opsTotal += await this.workload.step(this.cache);
      if (now - lastYield >= yieldEveryMs) {
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        lastYield = performance.now();
      }
    }
    return this.result();
  }

  #beginMeasurement(): void {
    this.cache.resetCounters();
    const counters = this.cache.counters();
    this.#baseRead = counters.remoteReadBytes;
    this.#baseWrite = counters.remoteWriteBytes;
    this.#measureStartMs = performance.now();
    this.#measureOpsStart = this.#opsTotal;
  }

  /** The result over the measured window so far. */
  result(): WorkloadResult {
    const counters = this.cache.counters();
    const durationMs = performance.now() - this.#measureStartMs;
    const seconds = Math.max(durationMs, 1e-3) / 1000;
    const opsTotal = this.#opsTotal - this.#measureOpsStart;
    const remoteReadBytes = counters.remoteReadBytes - this.#baseRead;
    const remoteWriteBytes = counters.remoteWriteBytes - this.#baseWrite;
    return {
      workload: this.workload.name,
      durationMs: Math.round(durationMs),
      opsTotal,
      opsPerSec: opsTotal / seconds,
      hitRatio: counters.accesses > 0 ? counters.hits / counters.accesses : 0,
      accesses: counters.accesses,
      hits: counters.hits,
      misses: counters.misses,
      remoteReadBytes,
      remoteWriteBytes,
      remoteBytesPerSec: (remoteReadBytes + remoteWriteBytes) / seconds,
      stallMs: Math.round(counters.stallMs),
      cacheBytes: counters.cacheBytes,
      bandwidthBytesPerSec: counters.bandwidthBytesPerSec,
      datasetBytes: this.cache.pages * this.cache.pageBytes,
      mrc: this.cache.curve(),
      mrcSampleRate: this.cache.mrc?.sampleRate ?? 0,
      details: this.workload.report?.() ?? {},
    };
  }

  /** Cumulative counters for the control channel (since the counters were last zeroed). */
  sample(): FarmemSample {
    const c = this.cache.counters();
    const phase = this.workload.currentPhase;
    return {
      elapsedMs: Math.round(performance.now() - this.#startedMs),
      opsTotal: this.#opsTotal,
      accesses: c.accesses,
      hits: c.hits,
      misses: c.misses,
      remoteReadBytes: c.remoteReadBytes,
      remoteWriteBytes: c.remoteWriteBytes,
      stallMs: Math.round(c.stallMs),
      cacheBytes: c.cacheBytes,
      bandwidthBytesPerSec: c.bandwidthBytesPerSec,
      residentBytes: c.residentBytes,
      mrc: this.cache.curve(),
      ...(phase === undefined ? {} : { phase }),
    };
  }
}
