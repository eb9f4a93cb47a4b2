/**
 * Bisection over a monotone predicate, the one search the market's numerical steps share.
 * Pure.
 * @module
 */

/**
 * The boundary of a predicate that holds on [lo, boundary) and fails on (boundary, hi] (or
 * the reverse, with `holds: "above"`), found in `steps` halvings: the last point known to
 * satisfy it. `ok(lo)` (or `ok(hi)`) is assumed, not checked.
 * @example lastWhere((x) => x * x <= 2, { lo: 0, hi: 2, steps: 40 }) // ≈ 1.41421
 */
export function lastWhere(
  ok: (x: number) => boolean,
  { lo, hi, steps, holds = "below" }: {
    lo: number;
    hi: number;
    steps: number;
    holds?: "below" | "above";
  },
): number {
  let good = holds === "below" ? lo : hi;
  let bad = holds === "below" ? hi : lo;
  for (let k = 0; k < steps; k++) {
    const mid = (good + bad) / 2;
    if (ok(mid)) good = mid;
    else bad = mid;
  }
  return good;
}
