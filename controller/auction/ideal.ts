/**
 * `ideal`: the offline optimum of the egalitarian objective, maximising the smallest ratio
 * f_i(x_i) / f_i(equal split), ties broken by the sum of throughputs. Pure.
 *
 * For a target ratio r, each app's least cache for every bandwidth level is found exactly
 * (bisection on its monotone model); a dynamic program over bandwidth levels then finds the
 * least total cache meeting r, and r is bisected. Bandwidth above the apps' minima is
 * discretised: 256 levels for nodes of up to 24 apps, 64 above (the documented
 * approximation; the equal split is returned if it scores better on the grid). Capacity left
 * once r is met goes, in small steps, to whichever app gains most (the sum tie-break).
 * @module
 */
import { equalSplit } from "./equal_split.ts";
import type { Bundle, NodeAllocation, NodeMarket } from "./market.ts";
import { opsOf } from "./market.ts";

const LEFTOVER_STEPS = 64;

/** Allocates the egalitarian optimum (on the bandwidth grid). */
export function ideal(market: NodeMarket): NodeAllocation {
  const equal = equalSplit(market);
  const base = market.apps.map((_, i) => opsOf(market, i, equal[i] as Bundle));
  const levels = market.apps.length <= 24 ? 256 : 64;
  const minBandwidth = market.apps.reduce((a, app) => a + app.limits.minBandwidthMbps, 0);
  const unit = Math.max(0, market.bandwidthMbps - minBandwidth) / levels;

  const plan = (ratio: number) => planFor(market, { ratio, base, levels, unit });
  let lo = 0;
  let hi = Math.max(
    1,
    ...market.apps.map((app, i) => {
      const top = app.model.opsPerSec(app.limits.maxCacheMiB, app.limits.maxBandwidthMbps);
      return (base[i] as number) > 0 ? top / (base[i] as number) : 1;
    }),
  );
  let best = plan(0);
  for (let k = 0; k < 32; k++) {
    const mid = (lo + hi) / 2;
    const attempt = plan(mid);
    if (attempt !== null) {
      lo = mid;
      best = attempt;
    } else {
      hi = mid;
    }
  }
  let bundles = best === null ? equal : spendLeftover(market, best);
  if (minRatio(market, bundles, base) < minRatio(market, equal, base)) bundles = equal;
  return { nodeId: market.id, bundles, prices: null, iterations: 32, converged: true };
}

function minRatio(market: NodeMarket, bundles: readonly Bundle[], base: readonly number[]): number {
  return Math.min(
    ...bundles.map((b, i) => {
      const denominator = base[i] as number;
      return denominator > 0 ? opsOf(market, i, b) / denominator : Infinity;
    }),
  );
}

/** Bundles meeting `ratio` for every app with the least total cache, or null if none fit. */
function planFor(
  market: NodeMarket,
  { ratio, base, levels, unit }: { ratio: number; base: number[]; levels: number; unit: number },
): Bundle[] | null {
  const n = market.apps.length;
  // need[i][k]: least cache for app i with minimum + k units of bandwidth (Infinity if none).
  const need = market.apps.map((app, i) => {
    const target = ratio * (base[i] as number);
    const row = new Float64Array(levels + 1);
    for (let k = 0; k <= levels; k++) {
      const bandwidth = app.limits.minBandwidthMbps + k * unit;
      row[k] = bandwidth > app.limits.maxBandwidthMbps + 1e-9
        ? Infinity
        : leastCache(market, i, { bandwidth, target });
    }
    return row;
  });
  // best[i][k]: least cache for apps 0..i using at most k units; choice[i][k]: units of app i.
  const best: Float64Array[] = [];
  const choice: Int32Array[] = [];
  for (let i = 0; i < n; i++) {
    const row = new Float64Array(levels + 1).fill(Infinity);
    const pick = new Int32Array(levels + 1);
    const prev = best[i - 1];
    const own = need[i] as Float64Array;
    for (let k = 0; k <= levels; k++) {
      for (let j = 0; j <= k; j++) {
        const cost = (own[j] as number) +
          (prev === undefined ? (j === k ? 0 : Infinity) : prev[k - j] as number);
        if (cost < (row[k] as number)) {
          row[k] = cost;
          pick[k] = j;
        }
      }
    }
    best.push(row);
    choice.push(pick);
  }
  if (((best[n - 1] as Float64Array)[levels] as number) > market.cacheMiB * (1 + 1e-12)) {
    return null;
  }
  const bundles: Bundle[] = new Array(n);
  let k = levels;
  for (let i = n - 1; i >= 0; i--) {
    const j = (choice[i] as Int32Array)[k] as number;
    const app = market.apps[i];
    if (app === undefined) return null;
    bundles[i] = {
      cacheMiB: (need[i] as Float64Array)[j] as number,
      bandwidthMbps: app.limits.minBandwidthMbps + j * unit,
    };
    k -= j;
  }
  return bundles;
}

/** Least cache within app i's limits reaching `target` with `bandwidth`, or Infinity. */
function leastCache(
  market: NodeMarket,
  i: number,
  { bandwidth, target }: { bandwidth: number; target: number },
): number {
  const app = market.apps[i];
  if (app === undefined) return Infinity;
  const { minCacheMiB: lo, maxCacheMiB: hi } = app.limits;
  const f = (c: number) => app.model.opsPerSec(c, bandwidth);
  if (f(lo) >= target) return lo;
  if (f(hi) < target) return Infinity;
  let a = lo;
  let b = hi;
  for (let k = 0; k < 40; k++) {
    const mid = (a + b) / 2;
    if (f(mid) >= target) b = mid;
    else a = mid;
  }
  return b;
}

/** The bundle of the app gaining most throughput from `amount` more of `good` within limits. */
function mostGaining(
  market: NodeMarket,
  bundles: Bundle[],
  { good, amount }: { good: "cacheMiB" | "bandwidthMbps"; amount: number },
): Bundle | undefined {
  let best: Bundle | undefined;
  let bestGain = 0;
  bundles.forEach((b, i) => {
    const limits = market.apps[i]?.limits;
    if (limits === undefined) return;
    const max = good === "cacheMiB" ? limits.maxCacheMiB : limits.maxBandwidthMbps;
    if (b[good] + amount > max + 1e-9) return;
    const gain = opsOf(market, i, { ...b, [good]: b[good] + amount }) - opsOf(market, i, b);
    if (gain > bestGain) {
      bestGain = gain;
      best = b;
    }
  });
  return best;
}

/** Gives capacity left over, step by step, to the app with the largest throughput gain. */
function spendLeftover(market: NodeMarket, bundles: Bundle[]): Bundle[] {
  const result = bundles.map((b) => ({ ...b }));
  for (const good of ["cacheMiB", "bandwidthMbps"] as const) {
    const capacity = good === "cacheMiB" ? market.cacheMiB : market.bandwidthMbps;
    const leftover = capacity - result.reduce((a, b) => a + b[good], 0);
    if (leftover <= 0) continue;
    const step = leftover / LEFTOVER_STEPS;
    for (let s = 0; s < LEFTOVER_STEPS; s++) {
      const winner = mostGaining(market, result, { good, amount: step });
      if (winner !== undefined) {
        winner[good] += step;
        continue;
      }
      // Nobody gains from one step (curves flat at first): all that is left goes to the app
      // gaining most from all of it, if any.
      const rest = leftover - s * step;
      const taker = mostGaining(market, result, { good, amount: rest });
      if (taker !== undefined) taker[good] += rest;
      break;
    }
  }
  return result;
}
