/**
 * The equal split under limits: each good is water-filled, every app getting the same level
 * clipped to its own limits, the level chosen so the node's capacity is used exactly (or every
 * app reaches its maximum). When the plain equal split clipped to limits fits in the node, the
 * water-filled split gives every app at least that much. Pure.
 * @module
 */
import type { Bundle, NodeMarket } from "./market.ts";

/** Water-fills `capacity` between apps with per-app bounds; returns each app's share. */
export function waterFill(
  capacity: number,
  bounds: readonly { min: number; max: number }[],
): number[] {
  const clipAt = (level: number) =>
    bounds.map(({ min, max }) => Math.min(max, Math.max(min, level)));
  const total = (level: number) => clipAt(level).reduce((a, b) => a + b, 0);
  const highest = bounds.reduce((m, b) => Math.max(m, b.max), 0);
  if (total(highest) <= capacity) return clipAt(highest);
  let lo = 0;
  let hi = highest;
  for (let i = 0; i < 100 && hi - lo > 1e-9 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (total(mid) <= capacity) lo = mid;
    else hi = mid;
  }
  return clipAt(lo);
}

/** The water-filled equal split of both goods on one node, in app order. */
export function equalSplit(market: NodeMarket): Bundle[] {
  const cache = waterFill(
    market.cacheMiB,
    market.apps.map(({ limits }) => ({ min: limits.minCacheMiB, max: limits.maxCacheMiB })),
  );
  const bandwidth = waterFill(
    market.bandwidthMbps,
    market.apps.map(({ limits }) => ({
      min: limits.minBandwidthMbps,
      max: limits.maxBandwidthMbps,
    })),
  );
  return market.apps.map((_, i) => ({
    cacheMiB: cache[i] as number,
    bandwidthMbps: bandwidth[i] as number,
  }));
}
