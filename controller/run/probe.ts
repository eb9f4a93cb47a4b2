/**
 * Probing while models are learned: the equal split with one app's cache raised, rotating
 * through the apps epoch by epoch. Pure.
 * @module
 */
import type { Bundle, NodeMarket } from "../auction/market.ts";

/** Share of its equal cache a probed app gains (the others give it up) while warming up. */
export const PROBE_FRACTION = 1;

/**
 * The equal split `equal` (market units, in app order) with one app's cache raised by
 * PROBE_FRACTION (taken evenly from the others, within limits), rotating through the apps
 * epoch by epoch. While models are being learned, this shows each app at more than one cache
 * size, so the estimator can separate its latency sensitivity from its throughput cap; the
 * miss-ratio curve alone cannot.
 */
export function probeSplit(market: NodeMarket, equal: readonly Bundle[], epoch: number): Bundle[] {
  const bundles = equal.map((b) => ({ ...b }));
  const n = bundles.length;
  if (n < 2) return bundles;
  const probed = epoch % n;
  const target = bundles[probed];
  const limits = market.apps[probed]?.limits;
  if (target === undefined || limits === undefined) return bundles;
  const others = bundles.map((b, i) =>
    i === probed ? 0 : b.cacheMiB - (market.apps[i]?.limits.minCacheMiB ?? 0)
  );
  const room = others.reduce((a, b) => a + b, 0);
  const extra = Math.min(
    target.cacheMiB * PROBE_FRACTION,
    limits.maxCacheMiB - target.cacheMiB,
    room,
  );
  if (!(extra > 0)) return bundles;
  target.cacheMiB += extra;
  bundles.forEach((b, i) => {
    if (i !== probed) b.cacheMiB -= extra * (others[i] as number) / room;
  });
  return bundles;
}
