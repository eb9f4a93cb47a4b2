/**
 * `static`: the equal split of both goods, water-filled under limits. Pure.
 * @module
 */
import { equalSplit } from "./equal_split.ts";
import type { NodeAllocation, NodeMarket } from "./market.ts";

/** Allocates every app its (water-filled) equal split. */
export function staticSplit(market: NodeMarket): NodeAllocation {
  return {
    nodeId: market.id,
    bundles: equalSplit(market),
    prices: null,
    iterations: 0,
    converged: true,
  };
}
