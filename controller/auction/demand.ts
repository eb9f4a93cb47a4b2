/**
 * An app's demand: the bundle that maximises its throughput within its budget and limits.
 * Pure; exact for the piecewise models (the optimum is searched piece by piece, and on each
 * piece the throughput along the budget frontier is unimodal).
 * @module
 */
import type { AppLimits, Bundle } from "./market.ts";
import type { PerformanceModel } from "./model.ts";

/** Prices and income of one app, with its limits. */
export interface BudgetSet {
  priceCache: number;
  priceBandwidth: number;
  budget: number;
  limits: AppLimits;
}

/** A chosen bundle with its throughput. */
export interface Choice {
  bundle: Bundle;
  ops: number;
}

const GOLDEN = (Math.sqrt(5) - 1) / 2;
/** Relative throughput difference below which two bundles count as equally good. */
export const TIE_TOLERANCE = 1e-9;

/** The cache range an app can afford, and the bandwidth its remaining budget buys at each size. */
export interface Frontier {
  cacheLo: number;
  cacheHi: number;
  bandwidthAt(cacheMiB: number): number;
}

/** The upper-right boundary of the budget set, parametrised by cache. */
export function frontierOf(set: BudgetSet): Frontier {
  const { priceCache: pc, priceBandwidth: pb, budget, limits } = set;
  const cacheLo = limits.minCacheMiB;
  const affordable = pc > 0 ? (budget - pb * limits.minBandwidthMbps) / pc : Infinity;
  const cacheHi = Math.max(cacheLo, Math.min(limits.maxCacheMiB, affordable));
  return {
    cacheLo,
    cacheHi,
    bandwidthAt(cacheMiB) {
      if (pb <= 0) return limits.maxBandwidthMbps;
      const left = (budget - pc * cacheMiB) / pb;
      return Math.min(limits.maxBandwidthMbps, Math.max(limits.minBandwidthMbps, left));
    },
  };
}

/**
 * The best affordable bundle: maximum throughput, and among equally good bundles the one with
 * the least cache, then the least bandwidth (an app never holds what it gains nothing from).
 */
export function demand(model: PerformanceModel, set: BudgetSet): Choice {
  const frontier = frontierOf(set);
  const opsAt = (c: number) => model.opsPerSec(c, frontier.bandwidthAt(c));
  const { cacheLo, cacheHi } = frontier;
  const breakpoints = model.cacheBreakpointsMiB;
  const kink = bandwidthKink(set);
  let k = 0;
  while (k < breakpoints.length && (breakpoints[k] as number) <= cacheLo) k++;
  let bestCache = cacheLo;
  let bestOps = opsAt(cacheLo);
  let left = cacheLo;
  let leftOps = bestOps;
  while (left < cacheHi) {
    // The next cut: a model breakpoint, the frontier's kink, or the end of the frontier.
    let right = cacheHi;
    if (k < breakpoints.length && (breakpoints[k] as number) < right) {
      right = breakpoints[k] as number;
    }
    if (kink > left && kink < right) right = kink;
    if (right === breakpoints[k]) k++;
    const rightOps = opsAt(right);
    const width = right - left;
    if (width > 1e-9) {
      // Unimodal on the piece: an interior maximum exists only if it rises at the left end
      // and falls at the right end.
      const h = width * 1e-6;
      if (opsAt(left + h) > leftOps && opsAt(right - h) > rightOps) {
        const peak = goldenMaximum(opsAt, left, right);
        if (peak.y > bestOps * (1 + TIE_TOLERANCE)) {
          bestCache = peak.x;
          bestOps = peak.y;
        }
      }
    }
    if (rightOps > bestOps * (1 + TIE_TOLERANCE)) {
      bestCache = right;
      bestOps = rightOps;
    }
    left = right;
    leftOps = rightOps;
  }
  return {
    bundle: trim(model, set.limits, {
      cacheMiB: bestCache,
      bandwidthMbps: frontier.bandwidthAt(bestCache),
    }),
    ops: bestOps,
  };
}

/** The cache size where the bandwidth bought reaches the app's maximum (NaN if none). */
function bandwidthKink(set: BudgetSet): number {
  const { priceCache: pc, priceBandwidth: pb, budget, limits } = set;
  return pc > 0 && pb > 0 ? (budget - pb * limits.maxBandwidthMbps) / pc : Number.NaN;
}

/** Golden-section search for the maximum of a unimodal function on [a, b]. */
function goldenMaximum(f: (x: number) => number, a: number, b: number): { x: number; y: number } {
  let lo = a;
  let hi = b;
  let x1 = hi - GOLDEN * (hi - lo);
  let x2 = lo + GOLDEN * (hi - lo);
  let f1 = f(x1);
  let f2 = f(x2);
  const stop = (b - a) * 1e-7;
  for (let i = 0; i < 60 && hi - lo > stop; i++) {
    if (f1 < f2) {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + GOLDEN * (hi - lo);
      f2 = f(x2);
    } else {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - GOLDEN * (hi - lo);
      f1 = f(x1);
    }
  }
  return f1 >= f2 ? { x: x1, y: f1 } : { x: x2, y: f2 };
}

/**
 * Drops what the app gains nothing from: bandwidth beyond saturation, then cache beyond the
 * smallest size giving the same throughput (within the relative `tolerance`) with that
 * bandwidth.
 */
export function trim(
  model: PerformanceModel,
  limits: AppLimits,
  { cacheMiB, bandwidthMbps, tolerance = TIE_TOLERANCE }: {
    cacheMiB: number;
    bandwidthMbps: number;
    tolerance?: number;
  },
): Bundle {
  const target = model.opsPerSec(cacheMiB, bandwidthMbps) * (1 - tolerance);
  const saturation = model.saturationBandwidthMbps(cacheMiB);
  let bandwidth = Math.max(limits.minBandwidthMbps, Math.min(bandwidthMbps, saturation));
  if (model.opsPerSec(cacheMiB, bandwidth) < target) bandwidth = bandwidthMbps;
  const cache = smallestReaching(
    (c) => model.opsPerSec(c, bandwidth),
    { lo: limits.minCacheMiB, hi: cacheMiB, target },
  );
  bandwidth = smallestReaching(
    (b) => model.opsPerSec(cache, b),
    { lo: limits.minBandwidthMbps, hi: bandwidth, target },
  );
  return { cacheMiB: cache, bandwidthMbps: bandwidth };
}

/** Smallest x in [lo, hi] with f(x) >= target, for f non-decreasing and f(hi) >= target. */
function smallestReaching(
  f: (x: number) => number,
  { lo, hi, target }: { lo: number; hi: number; target: number },
): number {
  if (f(lo) >= target) return lo;
  // Common case: strictly increasing just below hi, so hi is already the smallest.
  if (f(hi) < target || f(hi - 1e-7 * Math.max(1, hi - lo)) < target) return hi;
  let a = lo;
  let b = hi;
  for (let i = 0; i < 50 && b - a > 1e-9 * Math.max(1, b); i++) {
    const mid = (a + b) / 2;
    if (f(mid) >= target) b = mid;
    else a = mid;
  }
  return b;
}
