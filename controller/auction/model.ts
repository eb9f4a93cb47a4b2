/**
 * Performance models: an application's throughput as a function of its cache and bandwidth.
 * Pure; what the estimator produces and what `spirit allocate` reads from JSON.
 * @module
 */
import { bytesPerSecOfMbps } from "./units.ts";

/** Throughput in ops/s as a function of (cache MiB, bandwidth Mbps); non-decreasing in both. */
export interface PerformanceModel {
  readonly spec: ModelSpec;
  /** Operations per second with `cacheMiB` of cache and `bandwidthMbps` of remote bandwidth. */
  opsPerSec(cacheMiB: number, bandwidthMbps: number): number;
  /**
   * Cache sizes where the model changes slope (ascending). Demand search evaluates them
   * exactly, so piecewise models are optimised without grid error.
   */
  readonly cacheBreakpointsMiB: readonly number[];
  /**
   * Bandwidth beyond which more bandwidth gains nothing at this cache size, or Infinity when
   * the model cannot tell.
   */
  saturationBandwidthMbps(cacheMiB: number): number;
}

/** Miss-ratio-curve model: bandwidth-bound by remote page traffic, capped by a latency term. */
export interface MrcModelSpec {
  kind: "mrc";
  /** [[cacheMiB, missRatio], ...], cache strictly ascending, ratio non-increasing in [0, 1]. */
  missRatio: Array<[number, number]>;
  maxOpsPerSec: number;
  /** Slowdown per unit miss ratio from remote latency: f <= max / (1 + latencyRatio * m). */
  latencyRatio?: number;
  /** Bytes moved per miss (default 4096). */
  pageBytes?: number;
}

/** Constant model: throughput independent of both resources (CPU-bound). */
export interface ConstantModelSpec {
  kind: "constant";
  opsPerSec: number;
}

/** Throughput measured on a (cache, bandwidth) grid, bilinearly interpolated, clamped at edges. */
export interface GridModelSpec {
  kind: "grid";
  cacheMiB: number[];
  bandwidthMbps: number[];
  /** opsPerSec[i][j] at cacheMiB[i], bandwidthMbps[j]; non-decreasing along both axes. */
  opsPerSec: number[][];
}

/**
 * An app whose traffic cannot be measured, so whose model is unknown: every policy keeps it at
 * exactly its equal split and lets the other apps trade the rest. `opsPerSec` (the throughput
 * last observed, if any) is only reported, never used to allocate.
 */
export interface UnknownModelSpec {
  kind: "unknown";
  opsPerSec?: number;
  /** Why the model is unknown (for the record), e.g. "no swap traffic measurable". */
  reason?: string;
}

/** Any model, as JSON. */
export type ModelSpec = MrcModelSpec | ConstantModelSpec | GridModelSpec | UnknownModelSpec;

/** Floor of the miss ratio, so bandwidth-bound throughput stays finite. */
export const MIN_MISS_RATIO = 1e-6;

/** Builds the evaluable model for a validated spec. */
export function buildModel(spec: ModelSpec): PerformanceModel {
  switch (spec.kind) {
    case "mrc":
      return mrcModel(spec);
    case "constant":
      return constantModel(spec);
    case "grid":
      return gridModel(spec);
    case "unknown":
      return unknownModel(spec);
  }
}

/** Piecewise-linear interpolation over ascending `xs`, clamped at both ends. */
export function interpolate(xs: readonly number[], ys: readonly number[], x: number): number {
  const n = xs.length;
  if (n === 0) throw new RangeError("Cannot interpolate an empty table");
  if (x <= (xs[0] as number)) return ys[0] as number;
  if (x >= (xs[n - 1] as number)) return ys[n - 1] as number;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) <= x) lo = mid;
    else hi = mid;
  }
  const x0 = xs[lo] as number;
  const x1 = xs[hi] as number;
  const y0 = ys[lo] as number;
  const y1 = ys[hi] as number;
  return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
}

function mrcModel(spec: MrcModelSpec): PerformanceModel {
  const cache = spec.missRatio.map(([c]) => c);
  const ratio = spec.missRatio.map(([, m]) => Math.max(m, MIN_MISS_RATIO));
  const latency = spec.latencyRatio ?? 0;
  const pageBytes = spec.pageBytes ?? 4096;
  const opsPerMbpsPerMiss = bytesPerSecOfMbps(1) / pageBytes;
  const missRatioAt = (cacheMiB: number) => interpolate(cache, ratio, cacheMiB);
  return {
    spec,
    cacheBreakpointsMiB: cache,
    opsPerSec(cacheMiB, bandwidthMbps) {
      const m = missRatioAt(cacheMiB);
      return Math.min(bandwidthMbps * opsPerMbpsPerMiss / m, spec.maxOpsPerSec / (1 + latency * m));
    },
    saturationBandwidthMbps(cacheMiB) {
      const m = missRatioAt(cacheMiB);
      return spec.maxOpsPerSec / (1 + latency * m) * m / opsPerMbpsPerMiss;
    },
  };
}

function constantModel(spec: ConstantModelSpec): PerformanceModel {
  return {
    spec,
    cacheBreakpointsMiB: [],
    opsPerSec: () => spec.opsPerSec,
    saturationBandwidthMbps: () => 0,
  };
}

function unknownModel(spec: UnknownModelSpec): PerformanceModel {
  const opsPerSec = spec.opsPerSec ?? 0;
  return {
    spec,
    cacheBreakpointsMiB: [],
    opsPerSec: () => opsPerSec,
    saturationBandwidthMbps: () => 0,
  };
}

function gridModel(spec: GridModelSpec): PerformanceModel {
  const { cacheMiB: cs, bandwidthMbps: bs, opsPerSec: table } = spec;
  const rowAt = (i: number) => table[i] as number[];
  return {
    spec,
    cacheBreakpointsMiB: cs,
    opsPerSec(cacheMiB, bandwidthMbps) {
      const n = cs.length;
      if (cacheMiB <= (cs[0] as number)) return interpolate(bs, rowAt(0), bandwidthMbps);
      if (cacheMiB >= (cs[n - 1] as number)) return interpolate(bs, rowAt(n - 1), bandwidthMbps);
      let i = 0;
      while ((cs[i + 1] as number) <= cacheMiB) i++;
      const c0 = cs[i] as number;
      const c1 = cs[i + 1] as number;
      const f0 = interpolate(bs, rowAt(i), bandwidthMbps);
      const f1 = interpolate(bs, rowAt(i + 1), bandwidthMbps);
      return f0 + (f1 - f0) * (cacheMiB - c0) / (c1 - c0);
    },
    saturationBandwidthMbps(cacheMiB) {
      // The smallest grid bandwidth from which no row near this cache size still grows.
      const rows = cs.map((c, i) => ({ c, row: rowAt(i) }))
        .filter(({ c }, i) => c >= cacheMiB || (cs[i + 1] ?? Infinity) > cacheMiB);
      let saturation = 0;
      for (const { row } of rows.slice(0, 2)) {
        let j = row.length - 1;
        while (j > 0 && (row[j - 1] as number) >= (row[j] as number)) j--;
        saturation = Math.max(saturation, bs[j] as number);
      }
      return saturation;
    },
  };
}
