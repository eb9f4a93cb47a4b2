/**
 * Robust statistics for the estimator: median, MAD, Theil-Sen line fit, MAD-based outlier
 * rejection and isotonic (non-increasing) regression. Pure.
 * @module
 */

/** Median of the values (NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid] as number
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median absolute deviation from the median, scaled to estimate a normal standard deviation. */
export function mad(values: readonly number[]): number {
  const m = median(values);
  return 1.4826 * median(values.map((v) => Math.abs(v - m)));
}

/** A fitted line y = intercept + slope * x. */
export interface Line {
  intercept: number;
  slope: number;
}

/**
 * Theil-Sen estimator: the median of pairwise slopes, then the median intercept. Tolerates up
 * to ~29 % outliers. Pairs with (almost) equal x are skipped; with no usable pair the slope is 0.
 */
export function theilSen(xs: readonly number[], ys: readonly number[]): Line {
  const slopes: number[] = [];
  const span = Math.max(...xs) - Math.min(...xs);
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      const dx = (xs[j] as number) - (xs[i] as number);
      if (Math.abs(dx) > span * 1e-3 && dx !== 0) {
        slopes.push(((ys[j] as number) - (ys[i] as number)) / dx);
      }
    }
  }
  const slope = slopes.length === 0 ? 0 : median(slopes);
  const intercept = median(ys.map((y, i) => y - slope * (xs[i] as number)));
  return { intercept, slope };
}

/**
 * Indices of values whose robust z-score (distance from the median in MADs) is at most
 * `threshold` (default 3.5). With a zero MAD, values equal to the median are kept.
 */
export function inlierIndices(
  values: readonly number[],
  threshold = 3.5,
  options: { minSpread?: number } = {},
): number[] {
  const m = median(values);
  // A floor on the spread: with (nearly) identical values, rounding noise is no outlier; on
  // log scales callers pass the relative noise they expect anyway (`minSpread`).
  const spread = Math.max(mad(values), options.minSpread ?? 0, 1e-6 * Math.max(1, Math.abs(m)));
  return values.flatMap((v, i) => {
    const z = Math.abs(v - m) / spread;
    return z <= threshold ? [i] : [];
  });
}

/**
 * Weighted isotonic regression with a non-increasing constraint (pool adjacent violators).
 * `ys` are ordered by ascending x; returns the fitted values.
 */
export function nonIncreasingFit(ys: readonly number[], weights?: readonly number[]): number[] {
  const blocks: Array<{ value: number; weight: number; count: number }> = [];
  ys.forEach((y, i) => {
    blocks.push({ value: y, weight: weights?.[i] ?? 1, count: 1 });
    while (blocks.length > 1) {
      const last = blocks[blocks.length - 1] as { value: number; weight: number; count: number };
      const prev = blocks[blocks.length - 2] as { value: number; weight: number; count: number };
      if (prev.value >= last.value) break;
      const weight = prev.weight + last.weight;
      blocks.splice(blocks.length - 2, 2, {
        value: (prev.value * prev.weight + last.value * last.weight) / weight,
        weight,
        count: prev.count + last.count,
      });
    }
  });
  return blocks.flatMap((b) => Array<number>(b.count).fill(b.value));
}
