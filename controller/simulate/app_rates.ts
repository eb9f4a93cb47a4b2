/**
 * What a simulated app does per second with a given cache and bandwidth, from its phase's
 * performance model: throughput, remote traffic (misses times bytes per miss, never above the
 * bandwidth, as the token bucket or the I/O throttle ensures) and the share of time stalled.
 * Pure.
 * @module
 */
import {
  buildModel,
  interpolate,
  type ModelSpec,
  type PerformanceModel,
} from "../auction/model.ts";
import { bytesPerSecOfMbps, mbpsOfBytesPerSec, mibOfBytes } from "../auction/units.ts";

/** Per-second behaviour at one allocation. */
export interface AppRates {
  opsPerSec: number;
  /** Remote bytes moved per second (reads and write-backs). */
  trafficBytesPerSec: number;
  /** Share of time spent waiting on remote memory, in [0, 1]. */
  stallShare: number;
}

/** A phase's model, ready to evaluate. */
export interface RateModel {
  spec: ModelSpec;
  model: PerformanceModel;
  /** Throughput with everything in cache and unlimited bandwidth. */
  peakOpsPerSec: number;
  /** An mrc model's curve as two columns (cache MiB, miss ratio), for interpolation. */
  curve: { cacheMiB: number[]; missRatio: number[] } | null;
}

/** Prepares `spec` for evaluation. */
export function rateModel(spec: ModelSpec): RateModel {
  const model = buildModel(spec);
  const peakOpsPerSec = spec.kind === "mrc"
    ? spec.maxOpsPerSec
    : spec.kind === "constant"
    ? spec.opsPerSec
    : spec.kind === "unknown"
    ? spec.opsPerSec ?? 0
    : Math.max(0, ...spec.opsPerSec.flat());
  const curve = spec.kind === "mrc"
    ? { cacheMiB: spec.missRatio.map(([c]) => c), missRatio: spec.missRatio.map(([, m]) => m) }
    : null;
  return { spec, model, peakOpsPerSec, curve };
}

/** Behaviour with `cacheBytes` of cache in use and `bandwidthBytesPerSec` allowed. */
export function ratesAt(
  { spec, model, peakOpsPerSec, curve }: RateModel,
  { cacheBytes, bandwidthBytesPerSec }: { cacheBytes: number; bandwidthBytesPerSec: number },
): AppRates {
  const cacheMiB = mibOfBytes(cacheBytes);
  const opsPerSec = model.opsPerSec(cacheMiB, mbpsOfBytesPerSec(bandwidthBytesPerSec));
  const stallShare = peakOpsPerSec > 0 ? Math.max(0, 1 - opsPerSec / peakOpsPerSec) : 0;
  switch (spec.kind) {
    case "constant":
    case "unknown": // as a true behaviour: throughput that no resource changes
      return { opsPerSec, trafficBytesPerSec: 0, stallShare: 0 };
    case "mrc": {
      const missRatio = curve === null ? 1 : interpolate(curve.cacheMiB, curve.missRatio, cacheMiB);
      const traffic = opsPerSec * missRatio * (spec.pageBytes ?? 4096);
      return {
        opsPerSec,
        trafficBytesPerSec: Math.min(bandwidthBytesPerSec, traffic),
        stallShare,
      };
    }
    case "grid": {
      // Bandwidth-bound below the saturation point, where it uses all it has.
      const saturation = bytesPerSecOfMbps(model.saturationBandwidthMbps(cacheMiB));
      return {
        opsPerSec,
        trafficBytesPerSec: Math.min(bandwidthBytesPerSec, saturation),
        stallShare,
      };
    }
  }
}
