/**
 * Miss-ratio curves for the estimator: the agent's curve (far-memory client or PEBS) cleaned
 * and calibrated against observed traffic, or one built from misses per op observed at the
 * probed cache sizes, sharpened by the kernel's working-set counters. Pure.
 * @module
 */
import { interpolate } from "../auction/model.ts";
import { inlierIndices, median, nonIncreasingFit } from "./robust.ts";
import type { EstimatorOptions, EstimatorSample } from "./types.ts";

/** Relative measurement noise taken for granted (10 %, as a log spread). */
export const LOG_NOISE = 0.1;
/** Spread of bytes per miss across cache sizes (log) below which it is taken as noise. */
const CALIBRATION_NOISE = 0.08;

/**
 * Fits the agent's miss-ratio curve to the traffic actually observed. Bytes moved per miss
 * (observed bytes per op over the curve's miss ratio) is measured at every cache size the app
 * was seen at; where it differs across sizes by more than noise, the curve is rescaled by it
 * (interpolated between those sizes, held beyond them). Effects the curve does not see, such
 * as write-back or prefetch needing some cache, then show in the model; otherwise the curve is
 * kept and bytes per miss is their median.
 */
export function calibrateCurve(
  curve: Array<[number, number]>,
  samples: readonly EstimatorSample[],
  o: Required<Pick<EstimatorOptions, "pageBytes" | "outlierThreshold">>,
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
export function normaliseCurve(
  curve: ReadonlyArray<readonly [number, number]>,
): Array<[number, number]> {
  const byCache = new Map<number, number[]>();
  for (const [c, r] of curve) {
    if (!Number.isFinite(c) || !Number.isFinite(r) || c < 0) continue;
    byCache.set(c, [...(byCache.get(c) ?? []), Math.min(1, Math.max(0, r))]);
  }
  const caches = [...byCache.keys()].sort((a, b) => a - b);
  const fitted = nonIncreasingFit(caches.map((c) => median(byCache.get(c) ?? [])));
  return caches.map((c, i) => [c, fitted[i] as number]);
}

/**
 * Misses per op observed at each cache size (1 MiB buckets): the limited traffic per op in
 * pages (swap-ins per op for unmodified programs). Where the kernel reports working-set
 * counters, each epoch also says how many of its misses about twice the memory would have
 * removed: a refaulted page is activated when its refault distance fits the working set, so
 * `activations / refaults` of the misses at c are hits at about 2c. Those become extra points
 * at 2c, only beyond the largest size observed (where the curve would otherwise stay flat) and
 * weighted half an observation. Made non-increasing by weighted isotonic regression.
 */
export function observedCurve(
  samples: readonly EstimatorSample[],
  pageBytes: number,
): { curve: Array<[number, number]>; refaultPoints: number } {
  const byCache = new Map<number, number[]>();
  const hints = new Map<number, number[]>();
  for (const s of samples) {
    const c = Math.round(s.cacheMiB);
    const miss = Math.min(1, s.remoteBytesPerSec / (s.opsPerSec * pageBytes));
    byCache.set(c, [...(byCache.get(c) ?? []), miss]);
    const refaults = s.refaultsPerSec ?? 0;
    if (refaults > 0 && s.activationsPerSec !== undefined && miss > 0) {
      const kept = Math.min(1, Math.max(0, s.activationsPerSec / refaults));
      const at = Math.round(2 * s.cacheMiB);
      hints.set(at, [...(hints.get(at) ?? []), miss * (1 - kept)]);
    }
  }
  const largest = Math.max(...byCache.keys());
  for (const at of hints.keys()) if (at <= largest) hints.delete(at);
  const points = [
    ...[...byCache].map(([c, v]) => ({ c, m: median(v), weight: v.length })),
    ...[...hints].map(([c, v]) => ({ c, m: median(v), weight: v.length / 2 })),
  ].sort((a, b) => a.c - b.c);
  const fitted = nonIncreasingFit(points.map((p) => p.m), points.map((p) => p.weight));
  return {
    curve: points.map((p, i) => [p.c, fitted[i] as number]),
    refaultPoints: hints.size,
  };
}
