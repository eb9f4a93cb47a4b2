/**
 * The policies by name, and running them over every node for a number of epochs. Pure.
 * @module
 */
import { drf } from "./drf.ts";
import { harvest } from "./harvest.ts";
import { ideal } from "./ideal.ts";
import type { NodeAllocation, NodeMarket, Policy, PolicyOptions } from "./market.ts";
import { staticSplit } from "./static.ts";
import { symbiosis } from "./symbiosis.ts";
import { trade } from "./trade.ts";
import { withUnknownAtEqualSplit } from "./unknown_apps.ts";

/**
 * Every policy, by the name used in scenarios, playbooks and on the command line. Each keeps
 * apps with an unknown model at their equal split (unknown_apps.ts).
 */
export const POLICIES = {
  symbiosis: withUnknownAtEqualSplit(symbiosis),
  static: withUnknownAtEqualSplit(staticSplit),
  ideal: withUnknownAtEqualSplit(ideal),
  harvest: withUnknownAtEqualSplit(harvest),
  trade: withUnknownAtEqualSplit(trade),
  drf: withUnknownAtEqualSplit(drf),
} as const satisfies Record<string, Policy>;

/** A policy name. */
export type PolicyName = keyof typeof POLICIES;

/** The policy names, in documentation order. */
export const POLICY_NAMES = Object.keys(POLICIES) as PolicyName[];

/** True when `name` is a policy name. */
export function isPolicyName(name: string): name is PolicyName {
  return Object.hasOwn(POLICIES, name);
}

/** Runs `policy` on every node; `previous` (by node id) is the allocation in force. */
export function allocateNodes(
  markets: readonly NodeMarket[],
  policy: PolicyName,
  options: { previous?: ReadonlyMap<string, NodeAllocation>; maxMoveFraction?: number } = {},
): NodeAllocation[] {
  return markets.map((market) => {
    const nodeOptions: PolicyOptions = {};
    const previous = options.previous?.get(market.id);
    if (previous !== undefined) nodeOptions.previous = previous;
    if (options.maxMoveFraction !== undefined) {
      nodeOptions.maxMoveFraction = options.maxMoveFraction;
    }
    return POLICIES[policy](market, nodeOptions);
  });
}
