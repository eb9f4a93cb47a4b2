/**
 * Apps with unknown models (traffic not measurable) in any policy: each is kept at exactly its
 * equal split, and the policy allocates the rest of the node among the other apps. Pure.
 * @module
 */
import { equalSplit } from "./equal_split.ts";
import {
  type Bundle,
  isUnknown,
  type NodeAllocation,
  type NodeMarket,
  type Policy,
  type PolicyOptions,
} from "./market.ts";

/**
 * Wraps `policy` so that apps with an unknown model keep their equal split (water-filled on
 * the whole node, as every other app's endowment) and the others share what is left. The rest
 * of the node's equal split among the known apps is their equal split on the whole node, so
 * endowments, and every guarantee stated against them, are unchanged.
 */
export function withUnknownAtEqualSplit(policy: Policy): Policy {
  return (market, options) => {
    const unknown = market.apps.map(isUnknown);
    if (!unknown.includes(true)) return policy(market, options);
    const equal = equalSplit(market);
    const known = market.apps.flatMap((_, i) => unknown[i] ? [] : [i]);
    const reserved = (good: keyof Bundle) =>
      equal.reduce((a, b, i) => unknown[i] ? a + b[good] : a, 0);
    const rest: NodeMarket = {
      ...market,
      cacheMiB: Math.max(0, market.cacheMiB - reserved("cacheMiB")),
      bandwidthMbps: Math.max(0, market.bandwidthMbps - reserved("bandwidthMbps")),
      apps: known.map((i) => market.apps[i] as NodeMarket["apps"][number]),
    };
    const inner = policy(rest, restrictOptions(options, known, market.apps.length));
    let k = 0;
    const bundles = market.apps.map((_, i) =>
      unknown[i] ? { ...(equal[i] as Bundle) } : inner.bundles[k++] as Bundle
    );
    return { ...inner, nodeId: market.id, bundles };
  };
}

/** The options with the previous allocation restricted to the known apps. */
function restrictOptions(
  options: PolicyOptions,
  known: readonly number[],
  apps: number,
): PolicyOptions {
  const previous = options.previous;
  if (previous === undefined || previous.bundles.length !== apps) {
    const { previous: _, ...rest } = options;
    return rest;
  }
  const restricted: NodeAllocation = {
    ...previous,
    bundles: known.map((i) => previous.bundles[i] as Bundle),
  };
  return { ...options, previous: restricted };
}
