/**
 * `drf`: Dominant Resource Fairness on declared peak demands, by progressive filling: every
 * app's dominant share rises at the same rate, each app receiving its demand vector scaled,
 * until a good runs out or the app's demand is met. Without declared demands every app
 * declares its maxima, and DRF degenerates to the equal split. Pure.
 * @module
 */
import type { Bundle, NodeAllocation, NodeMarket } from "./market.ts";
import { clipToLimits } from "./market.ts";
import { fitToCapacity } from "./feasibility.ts";

/** Allocates by progressive filling of dominant shares. */
export function drf(market: NodeMarket): NodeAllocation {
  const demands = market.apps.map((app) =>
    app.peakDemand ??
      { cacheMiB: app.limits.maxCacheMiB, bandwidthMbps: app.limits.maxBandwidthMbps }
  );
  const dominant = demands.map((d) =>
    Math.max(d.cacheMiB / market.cacheMiB, d.bandwidthMbps / market.bandwidthMbps)
  );
  // Fraction of its demand app i holds at dominant share s: min(1, s / dominant_i).
  const allocationAt = (share: number): Bundle[] =>
    demands.map((d, i) => {
      const dom = dominant[i] as number;
      const fraction = dom > 0 ? Math.min(1, share / dom) : 1;
      return { cacheMiB: d.cacheMiB * fraction, bandwidthMbps: d.bandwidthMbps * fraction };
    });
  const fits = (bundles: Bundle[]) =>
    bundles.reduce((a, b) => a + b.cacheMiB, 0) <= market.cacheMiB * (1 + 1e-12) &&
    bundles.reduce((a, b) => a + b.bandwidthMbps, 0) <= market.bandwidthMbps * (1 + 1e-12);
  let lo = 0;
  let hi = Math.max(1, ...dominant);
  for (let k = 0; k < 60; k++) {
    const mid = (lo + hi) / 2;
    if (fits(allocationAt(mid))) lo = mid;
    else hi = mid;
  }
  const bundles = allocationAt(lo).map((b, i) =>
    clipToLimits(
      b,
      market.apps[i]?.limits ?? {
        minCacheMiB: 0,
        maxCacheMiB: Infinity,
        minBandwidthMbps: 0,
        maxBandwidthMbps: Infinity,
      },
    )
  );
  return {
    nodeId: market.id,
    bundles: fitToCapacity(market, bundles),
    prices: null,
    iterations: 60,
    converged: true,
  };
}
