/**
 * Per-app perf events: CPU time from the software task-clock counter (always), and where the
 * host has hardware counters, PEBS sampling of last-level-cache-miss data addresses (1 in 25)
 * turned into a miss-ratio curve. Without hardware counters the curve is reported unavailable.
 * @module
 */
import {
  HW_CACHE_LL_READ_MISS,
  openSoftwareCounter,
  PerfAddressSampler,
  type PerfCounter,
  PerfType,
  SoftwareEvent,
} from "../../ffi/perf_event.ts";
import type { MrcReading } from "../protocol.ts";
import { mrcFromPageCounts, PageHistogram } from "./mrc.ts";

/** Where the MRC comes from for a cgroup app. */
export interface PerfMonitorOptions {
  /** Whether the host exposes hardware counters (HostFacts.hardwarePerfCounters). */
  hardwareCounters: boolean;
  /** LLC misses per sample (default 25, as Spirit used). */
  samplePeriod?: number;
}

/** Perf events attached to one app's main process (inherited by its children). */
export class PerfMonitor {
  #taskClock: PerfCounter | null = null;
  #sampler: PerfAddressSampler | null = null;
  #histogram = new PageHistogram();
  #mrcUnavailable: string;

  constructor(pid: number, options: PerfMonitorOptions) {
    try {
      this.#taskClock = openSoftwareCounter(SoftwareEvent.TASK_CLOCK, pid);
    } catch (_error) {
      // CPU time is then reported as null; the sample says so.
      this.#taskClock = null;
    }
    this.#mrcUnavailable =
      "no hardware performance counters on this host, so no PEBS data-address sampling";
    if (options.hardwareCounters) {
      try {
        this.#sampler = new PerfAddressSampler({
          type: PerfType.HW_CACHE,
          config: HW_CACHE_LL_READ_MISS,
          samplePeriod: options.samplePeriod ?? 25,
          preciseIp: 2,
          inherit: true,
          excludeKernel: true,
        }, { pid });
      } catch (error) {
        this.#mrcUnavailable = `PEBS data-address sampling failed to start: ${
          (error as Error).message
        }`;
      }
    }
  }

  /** CPU time of the app so far in ms, or null when the counter could not be opened. */
  cpuTimeMs(): number | null {
    if (this.#taskClock === null) return null;
    try {
      return Number(this.#taskClock.read()) / 1e6;
    } catch (_error) {
      return null;
    }
  }

  /** Drains new address samples and returns the curve so far (or why there is none). */
  mrc(): MrcReading {
    if (this.#sampler === null) return { available: false, reason: this.#mrcUnavailable };
    for (const sample of this.#sampler.drain()) this.#histogram.add(sample.addr);
    const points = mrcFromPageCounts(this.#histogram.counts());
    if (points.length === 0) return { available: false, reason: "no data-address samples yet" };
    return { available: true, source: "pebs", points };
  }

  /** Closes every perf descriptor (idempotent). */
  close(): void {
    this.#taskClock?.close();
    this.#taskClock = null;
    this.#sampler?.close();
    this.#sampler = null;
  }
}
