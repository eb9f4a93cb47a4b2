/**
 * Feasibility repair shared by the policies. Pure.
 * @module
 */
import type { Bundle, NodeMarket } from "./market.ts";

/**
 * Where a good is over-allocated (rounding, minima raised above an equal share), scales the
 * excess above each app's minimum down proportionally so the node's capacity holds.
 */
export function fitToCapacity(market: NodeMarket, bundles: readonly Bundle[]): Bundle[] {
  const result = bundles.map((b) => ({ ...b }));
  for (const good of ["cacheMiB", "bandwidthMbps"] as const) {
    const capacity = good === "cacheMiB" ? market.cacheMiB : market.bandwidthMbps;
    const total = result.reduce((a, b) => a + b[good], 0);
    if (total <= capacity) continue;
    const floor = (i: number) => {
      const limits = market.apps[i]?.limits;
      if (limits === undefined) return 0;
      return good === "cacheMiB" ? limits.minCacheMiB : limits.minBandwidthMbps;
    };
    const above = result.reduce((a, b, i) => a + Math.max(0, b[good] - floor(i)), 0);
    const keep = above > 0 ? Math.max(0, 1 - (total - capacity) / above) : 0;
    result.forEach((b, i) => {
      b[good] = floor(i) + Math.max(0, b[good] - floor(i)) * keep;
    });
  }
  return result;
}
