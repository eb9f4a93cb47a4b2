/**
 * `harvest`: the paper's baseline that takes from apps doing well without a resource and gives
 * to the struggling ones. Each epoch, starting from the allocation in force (the equal split
 * at first), every app gives up, for each good, up to a step of 2 % of capacity of what it
 * gains nothing from; the harvest goes to the app that gains most from it relative to its
 * current throughput. No prices, no guarantees beyond feasibility. Pure.
 * @module
 */
import { equalSplit } from "./equal_split.ts";
import { idleAmount } from "./fairness.ts";
import type { Bundle, NodeAllocation, NodeMarket, PolicyOptions } from "./market.ts";
import { opsOf } from "./market.ts";

const STEP_FRACTION = 0.02;

/** One epoch of harvesting. */
export function harvest(market: NodeMarket, options: PolicyOptions = {}): NodeAllocation {
  const n = market.apps.length;
  const start = options.previous?.bundles.length === n
    ? options.previous.bundles
    : equalSplit(market);
  const bundles = start.map((b) => ({ ...b }));
  let moves = 0;
  for (const [good, resource] of [["cacheMiB", "cache"], ["bandwidthMbps", "bandwidth"]] as const) {
    const capacity = good === "cacheMiB" ? market.cacheMiB : market.bandwidthMbps;
    const step = STEP_FRACTION * capacity;
    const taken = bundles.map((b, i) => {
      const idle = Math.min(step, idleAmount(market, i, b, resource));
      return idle > 1e-4 * capacity ? idle : 0;
    });
    const pool = taken.reduce((a, b) => a + b, 0);
    if (pool <= 1e-9 * capacity) continue;
    const receiver = mostGaining(market, bundles, { good, amount: pool, donors: taken });
    if (receiver < 0) continue;
    bundles.forEach((b, i) => {
      b[good] -= taken[i] as number;
    });
    const target = bundles[receiver] as Bundle;
    target[good] += pool;
    moves++;
  }
  return { nodeId: market.id, bundles, prices: null, iterations: moves, converged: moves === 0 };
}

/** The app (not a donor) with the largest relative gain from `amount` more of `good`. */
function mostGaining(
  market: NodeMarket,
  bundles: readonly Bundle[],
  { good, amount, donors }: {
    good: "cacheMiB" | "bandwidthMbps";
    amount: number;
    donors: readonly number[];
  },
): number {
  let best = -1;
  let bestGain = 1e-9;
  bundles.forEach((b, i) => {
    if ((donors[i] as number) > 0) return;
    const limits = market.apps[i]?.limits;
    if (limits === undefined) return;
    const max = good === "cacheMiB" ? limits.maxCacheMiB : limits.maxBandwidthMbps;
    if (b[good] + amount > max + 1e-9) return;
    const before = opsOf(market, i, b);
    const gain = opsOf(market, i, { ...b, [good]: b[good] + amount }) / Math.max(before, 1e-300) -
      1;
    if (gain > bestGain) {
      bestGain = gain;
      best = i;
    }
  });
  return best;
}
