/**
 * Certification of the market's guarantees on a candidate allocation: sharing incentive
 * against the endowments, and envy-freeness among apps with equal endowments, both within a
 * tolerance stricter than the promised one. Pure.
 * @module
 */
import { envyPairs, sharingIncentiveViolations } from "./fairness.ts";
import { type Bundle, clipToLimits, type NodeMarket, opsOf } from "./market.ts";

/** Internal certification tolerance: stricter than the promised 0.5 %. */
export const CERTIFY_TOLERANCE = 0.004;

/** The apps with equal endowments, as groups of indices (envy is judged within a group). */
export function equalEndowmentGroups(endowment: readonly Bundle[]): number[][] {
  const groups = new Map<string, number[]>();
  endowment.forEach((w, i) => {
    const key = `${w.cacheMiB.toPrecision(9)}/${w.bandwidthMbps.toPrecision(9)}`;
    const group = groups.get(key) ?? [];
    group.push(i);
    groups.set(key, group);
  });
  return [...groups.values()];
}

/** Sharing incentive against the endowment and envy-freeness among equally endowed apps. */
export function certify(
  market: NodeMarket,
  bundles: readonly Bundle[],
  endowment: readonly Bundle[],
): boolean {
  if (sharingIncentiveViolations(market, bundles, endowment, CERTIFY_TOLERANCE).length > 0) {
    return false;
  }
  return equalEndowmentGroups(endowment).every((among) =>
    envyPairs(market, bundles, { tolerance: CERTIFY_TOLERANCE, among }).length === 0
  );
}

/**
 * Envy after a local change, checked in the directions the change can create it (O(n) per
 * changed app): toward each app in `grown` (its bundle only grew, so only others can newly envy
 * it) and from each app in `shrunk` (its throughput fell, so only its own envy can grow).
 * `groupOf[i]` lists the apps endowed like app i; `ownOps` is every app's throughput now.
 */
export function envyAround(
  market: NodeMarket,
  bundles: readonly Bundle[],
  { grown = [], shrunk = [], groupOf, ownOps }: {
    grown?: readonly number[];
    shrunk?: readonly number[];
    groupOf: readonly (readonly number[])[];
    ownOps: readonly number[];
  },
): boolean {
  const envies = (k: number, j: number) => {
    const app = market.apps[k];
    const other = bundles[j];
    if (app === undefined || other === undefined) return false;
    if (other.cacheMiB < app.limits.minCacheMiB - 1e-9) return false;
    if (other.bandwidthMbps < app.limits.minBandwidthMbps - 1e-9) return false;
    const theirs = opsOf(market, k, clipToLimits(other, app.limits));
    return theirs > (ownOps[k] as number) * (1 + CERTIFY_TOLERANCE);
  };
  const toward = grown.some((j) => (groupOf[j] ?? []).some((k) => k !== j && envies(k, j)));
  return toward || shrunk.some((k) => (groupOf[k] ?? []).some((j) => j !== k && envies(k, j)));
}

/** For each app, the apps endowed like it (itself included). */
export function groupIndex(endowment: readonly Bundle[]): number[][] {
  const groupOf: number[][] = endowment.map(() => []);
  for (const group of equalEndowmentGroups(endowment)) {
    for (const i of group) groupOf[i] = group;
  }
  return groupOf;
}
