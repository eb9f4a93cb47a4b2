/**
 * Statistics over repetitions: mean, sample standard deviation and the half-width of a 95 %
 * confidence interval of the mean with Student's t. Pure.
 * @module
 */
import { median as robustMedian } from "../estimator/robust.ts";

/** Two-sided 95 % quantiles t(0.975, df) of Student's t for df = 1..30. */
const T975 = [
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
  2.08,
  2.074,
  2.069,
  2.064,
  2.06,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];
const Z975 = 1.959964;

/**
 * The 0.975 quantile of Student's t with `df` degrees of freedom: the table for df <= 30,
 * beyond it the Cornish-Fisher expansion around the normal quantile (error below 1e-4).
 */
export function studentT975(df: number): number {
  if (!Number.isInteger(df) || df < 1) {
    throw new RangeError(`Degrees of freedom must be a positive integer, got ${df}`);
  }
  const tabled = T975[df - 1];
  if (tabled !== undefined) return tabled;
  const z = Z975;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2) +
    (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * df ** 3);
}

/** Arithmetic mean; null for no values. */
export function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Median; null for no values. */
export function median(values: readonly number[]): number | null {
  return values.length === 0 ? null : robustMedian(values);
}

/** Sample standard deviation (n - 1 in the denominator); null for fewer than 2 values. */
export function sampleStandardDeviation(values: readonly number[]): number | null {
  const m = mean(values);
  if (m === null || values.length < 2) return null;
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

/**
 * Half-width of the 95 % confidence interval of the mean, t(0.975, n - 1) * s / sqrt(n): the
 * interval is mean ± this. Null for fewer than 2 values.
 * @example ci95HalfWidth([10, 12, 14]) // 4.303 * 2 / sqrt(3) ≈ 4.969
 */
export function ci95HalfWidth(values: readonly number[]): number | null {
  const s = sampleStandardDeviation(values);
  return s === null ? null : studentT975(values.length - 1) * s / Math.sqrt(values.length);
}
