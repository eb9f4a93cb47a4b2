/**
 * The first-version estimator: from one app's recent samples, fits an `mrc` performance model
 * (or `constant` for apps that do not use remote memory) for the auction. Pure.
 *
 * Model (controller/auction/model.ts): f(c, b) = min(b / (bytesPerMiss * m(c)), max / (1 + L * m(c)))
 * with m the misses per operation at cache c. The fit:
 * 1. Keep the last `window` valid samples; with fewer than `minSamples`, return "insufficient"
 *    (the caller keeps the equal split).
 * 2. m(c): the agent's latest miss-ratio curve when present; otherwise the observed misses per
 *    op (remote bytes / (ops * pageBytes)) per cache size, made non-increasing by isotonic
 *    regression and flat beyond the observed range.
 * 3. bytesPerMiss: the median of remote bytes / (ops * m(c)) over the samples (page size when
 *    the curve was observed, since then it is the unit of m).
 * 4. max and L from samples that were not bandwidth-bound (traffic below `boundFraction` of the
 *    allocation): 1/ops = 1/max + (L/max) m is a line in m, fitted by Theil-Sen. With one cache
 *    size only, L = 0 and max = median throughput; with only bandwidth-bound samples, max is
 *    twice the best throughput seen (optimistic, so the market tries more bandwidth).
 * 5. Outliers: samples whose log throughput is more than `outlierThreshold` MADs from the
 *    first fit's prediction are dropped and the fit repeated.
 * @module
 */
import { buildModel, interpolate, type MrcModelSpec } from "../auction/model.ts";
import { bytesPerSecOfMbps } from "../auction/units.ts";
import { inlierIndices, median, nonIncreasingFit, theilSen } from "./robust.ts";
import type { Estimate, EstimatorOptions, EstimatorSample, FitReport } from "./types.ts";

const DEFAULTS: Required<EstimatorOptions> = {
  minSamples: 3,
  window: 30,
  outlierThreshold: 3.5,
  boundFraction: 0.85,
  pageBytes: 4096,
  constantMissRatio: 0.002,
};

/** Relative measurement noise taken for granted (10 %, as a log spread) before calling a sample an outlier. */
const LOG_NOISE = 0.1;
/** Quantile of unconstrained throughput taken as an app's cap. */
const CAP_QUANTILE = 0.9;
/** Cap assumed, relative to the best throughput seen, while no cap has been observed. */
const UNSEEN_CAP_FACTOR = 2;
/** Smallest share of an op's time spent locally, when the data cannot tell it from zero. */
const MIN_LOCAL_SHARE = 0.05;
/** Spread of bytes per miss across cache sizes (log) below which it is taken as noise. */
const CALIBRATION_NOISE = 0.08;
/** Samples needed before any is rejected as an outlier. */
const MIN_SAMPLES_FOR_OUTLIERS = 6;

/**
 * Fits one app's performance model from its samples (oldest first).
 * @example estimateModel(samples).status === "model" ? buildModel(e.spec) : equalSplit
 */
export function estimateModel(
  samples: readonly EstimatorSample[],
  options: EstimatorOptions = {},
): Estimate {
  const o = { ...DEFAULTS, ...options };
  const valid = samples.filter(isValid).slice(-o.window);
  if (valid.length < o.minSamples) {
    return {
      status: "insufficient",
      reason: `${valid.length} usable sample${
        valid.length === 1 ? "" : "s"
      }, ${o.minSamples} needed`,
      samples: valid.length,
    };
  }
  const agentMrc = [...valid].reverse().find((s) => (s.mrc?.length ?? 0) > 0)?.mrc;
  const observedMiss = valid.map((s) => s.remoteBytesPerSec / (s.opsPerSec * o.pageBytes));
  if (agentMrc === undefined && median(observedMiss) < o.constantMissRatio) {
    const ops = valid.map((s) => s.opsPerSec);
    const kept = inlierIndices(ops.map(Math.log), o.outlierThreshold, { minSpread: LOG_NOISE });
    const opsPerSec = median(kept.map((i) => ops[i] as number));
    return {
      status: "model",
      spec: { kind: "constant", opsPerSec },
      fit: {
        samplesUsed: kept.length,
        outliersRejected: valid.length - kept.length,
        mrcSource: "none",
        maxOpsPerSec: opsPerSec,
        latencyRatio: 0,
        bytesPerMiss: 0,
      },
    };
  }
  const first = fitOnce(valid, agentMrc, o);
  const model = buildModel(first.spec);
  const residuals = valid.map((s) =>
    Math.log(s.opsPerSec) - Math.log(Math.max(model.opsPerSec(s.cacheMiB, s.bandwidthMbps), 1e-9))
  );
  // Outliers are judged only with enough samples to tell them from a trend.
  if (valid.length < MIN_SAMPLES_FOR_OUTLIERS) return first;
  const kept = inlierIndices(residuals, o.outlierThreshold, { minSpread: LOG_NOISE });
  if (kept.length === valid.length || kept.length < o.minSamples) return first;
  const second = fitOnce(kept.map((i) => valid[i] as EstimatorSample), agentMrc, o);
  return {
    ...second,
    fit: { ...second.fit, outliersRejected: valid.length - kept.length },
  };
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function isValid(s: EstimatorSample): boolean {
  return [s.cacheMiB, s.bandwidthMbps, s.opsPerSec, s.remoteBytesPerSec].every(Number.isFinite) &&
    s.opsPerSec > 0 && s.cacheMiB >= 0 && s.bandwidthMbps > 0 && s.remoteBytesPerSec >= 0;
}

function fitOnce(
  samples: readonly EstimatorSample[],
  agentMrc: EstimatorSample["mrc"],
  o: Required<EstimatorOptions>,
): Extract<Estimate, { status: "model" }> {
  const calibrated = agentMrc === undefined
    ? { curve: observedCurve(samples, o.pageBytes), bytesPerMiss: o.pageBytes }
    : calibrateCurve(normaliseCurve(agentMrc), samples, o);
  const missRatio = calibrated.curve;
  const bytesPerMiss = calibrated.bytesPerMiss;
  const cache = missRatio.map(([c]) => c);
  const ratio = missRatio.map(([, m]) => m);
  const m = samples.map((s) => interpolate(cache, ratio, s.cacheMiB));

  const free = samples.flatMap((s, i) =>
    s.remoteBytesPerSec < o.boundFraction * bytesPerSecOfMbps(s.bandwidthMbps)
      ? [{ ops: s.opsPerSec, m: m[i] as number }]
      : []
  );
  let maxOpsPerSec: number;
  let latencyRatio = 0;
  const spread = free.length === 0
    ? 0
    : Math.max(...free.map((p) => p.m)) - Math.min(...free.map((p) => p.m));
  if (free.length >= 2 && spread > 1e-3) {
    const xs = free.map((p) => p.m);
    const ys = free.map((p) => 1 / p.ops);
    const line = theilSen(xs, ys);
    if (line.intercept > 0 && line.slope > 0) {
      maxOpsPerSec = 1 / line.intercept;
      latencyRatio = line.slope / line.intercept;
    } else if (line.slope > 0) {
      // Time per op is (almost) all remote latency: the intercept (time per op without misses)
      // drowns in noise. Take it as a small share of the fastest op and refit the slope.
      const intercept = MIN_LOCAL_SHARE * Math.min(...ys);
      const slope = median(xs.map((x, i) => ((ys[i] as number) - intercept) / x));
      maxOpsPerSec = 1 / intercept;
      latencyRatio = slope / intercept;
    } else {
      // More cache does not help when unconstrained: a cap. Contention only ever slows an app
      // down, so the cap is a high quantile of what it reached, not the median.
      maxOpsPerSec = quantile(free.map((p) => p.ops), CAP_QUANTILE);
    }
  } else {
    // No cap seen yet (one cache size observed, or always bandwidth-bound): taking the current
    // throughput as the cap would make the model deny any gain from more cache or bandwidth
    // and keep the app where it is. Until the data shows a cap, assume twice the best seen.
    maxOpsPerSec = UNSEEN_CAP_FACTOR * Math.max(...samples.map((s) => s.opsPerSec));
  }

  // A model never caps an app below throughput it was seen to reach.
  maxOpsPerSec = Math.max(maxOpsPerSec, ...samples.map((s) => s.opsPerSec));
  const spec: MrcModelSpec = {
    kind: "mrc",
    missRatio,
    maxOpsPerSec,
    latencyRatio,
    pageBytes: bytesPerMiss,
  };
  const fit: FitReport = {
    samplesUsed: samples.length,
    outliersRejected: 0,
    mrcSource: agentMrc === undefined ? "observed" : "agent",
    maxOpsPerSec,
    latencyRatio,
    bytesPerMiss,
  };
  return { status: "model", spec, fit };
}

/**
 * Fits the agent's miss-ratio curve to the traffic actually observed. Bytes moved per miss
 * (observed bytes per op over the curve's miss ratio) is measured at every cache size the app
 * was seen at; where it differs across sizes by more than noise, the curve is rescaled by it
 * (interpolated between those sizes, held beyond them). Effects the curve does not see, such
 * as write-back or prefetch needing some cache, then show in the model; otherwise the curve is
 * kept and bytes per miss is their median.
 */
function calibrateCurve(
  curve: Array<[number, number]>,
  samples: readonly EstimatorSample[],
  o: Required<EstimatorOptions>,
): { curve: Array<[number, number]>; bytesPerMiss: number } {
  const cache = curve.map(([c]) => c);
  const ratio = curve.map(([, m]) => m);
  const buckets = new Map<number, number[]>();
  const all: number[] = [];
  for (const s of samples) {
    const mi = interpolate(cache, ratio, s.cacheMiB);
    if (!(mi > 1e-4) || !(s.remoteBytesPerSec > 0)) continue;
    const perMiss = s.remoteBytesPerSec / (s.opsPerSec * mi);
    all.push(perMiss);
    const key = Math.round(s.cacheMiB);
    buckets.set(key, [...(buckets.get(key) ?? []), perMiss]);
  }
  if (all.length === 0) return { curve, bytesPerMiss: o.pageBytes };
  const logs = all.map(Math.log);
  const typical = median(
    inlierIndices(logs, o.outlierThreshold, { minSpread: LOG_NOISE }).map((i) => all[i] as number),
  );
  // Only cache sizes seen in at least two epochs count: one epoch is too noisy to rescale by.
  const sizes = [...buckets.keys()].filter((k) => (buckets.get(k)?.length ?? 0) >= 2)
    .sort((a, b) => a - b);
  const perSize = sizes.map((k) => median(buckets.get(k) ?? []));
  const spread = perSize.length < 2 ? 0 : Math.log(Math.max(...perSize) / Math.min(...perSize));
  if (spread <= CALIBRATION_NOISE) return { curve, bytesPerMiss: typical };
  // The curve gets points at the observed sizes, so the rescaling lands exactly there.
  // Bytes per miss is then the largest rescaled value, so no miss ratio exceeds 1.
  const points = [...new Set([...cache, ...sizes])].sort((a, b) => a - b);
  const bytesAt = points.map((c) => interpolate(cache, ratio, c) * interpolate(sizes, perSize, c));
  const reference = Math.max(typical, ...bytesAt);
  const fitted = nonIncreasingFit(bytesAt.map((b) => b / reference));
  return { curve: points.map((c, i) => [c, fitted[i] as number]), bytesPerMiss: reference };
}

/** Sorts, deduplicates, clamps to [0, 1] and makes a curve non-increasing. */
function normaliseCurve(curve: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const byCache = new Map<number, number[]>();
  for (const [c, r] of curve) {
    if (!Number.isFinite(c) || !Number.isFinite(r) || c < 0) continue;
    byCache.set(c, [...(byCache.get(c) ?? []), Math.min(1, Math.max(0, r))]);
  }
  const caches = [...byCache.keys()].sort((a, b) => a - b);
  const fitted = nonIncreasingFit(caches.map((c) => median(byCache.get(c) ?? [])));
  return caches.map((c, i) => [c, fitted[i] as number]);
}

/** Misses per op observed at each cache size (1 MiB buckets), made non-increasing. */
function observedCurve(
  samples: readonly EstimatorSample[],
  pageBytes: number,
): Array<[number, number]> {
  const byCache = new Map<number, number[]>();
  for (const s of samples) {
    const c = Math.round(s.cacheMiB);
    const miss = Math.min(1, s.remoteBytesPerSec / (s.opsPerSec * pageBytes));
    byCache.set(c, [...(byCache.get(c) ?? []), miss]);
  }
  const caches = [...byCache.keys()].sort((a, b) => a - b);
  const values = caches.map((c) => byCache.get(c) ?? []);
  const fitted = nonIncreasingFit(values.map(median), values.map((v) => v.length));
  return caches.map((c, i) => [c, fitted[i] as number]);
}
