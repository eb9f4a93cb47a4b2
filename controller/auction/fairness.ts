/**
 * Fairness metrics over an allocation: ratios to the equal split, envy, sharing incentive,
 * utilisation, Jain's index and the geometric mean of ratios. Pure.
 * @module
 */
import { type Bundle, clipToLimits, isUnknown, type NodeMarket, opsOf } from "./market.ts";
import { lastWhere } from "./search.ts";

/** Jain's fairness index of non-negative values: 1 when all equal, 1/n at worst. */
export function jainIndex(values: readonly number[]): number {
  if (values.length === 0) return 1;
  const sum = values.reduce((a, b) => a + b, 0);
  const squares = values.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (values.length * squares);
}

/** Geometric mean of positive values (values <= 0 count as a tiny positive number). */
export function geometricMean(values: readonly number[]): number {
  if (values.length === 0) return 1;
  const logSum = values.reduce((a, v) => a + Math.log(Math.max(v, 1e-12)), 0);
  return Math.exp(logSum / values.length);
}

/** Relative tolerance of every guarantee (0.5 %). */
export const GUARANTEE_TOLERANCE = 0.005;
/** A resource an app can give up losing less than this fraction counts as one it gains nothing from. */
export const IDLE_LOSS = 1e-6;

/** A pair where `envious` would get more than the tolerance more from `envied`'s bundle. */
export interface EnvyPair {
  envious: string;
  envied: string;
  /** f_envious(bundle of envied) / f_envious(own bundle). */
  ratio: number;
}

/** Capacity left over, or held idle, while another app would gain from it. */
export interface ParetoGap {
  resource: "cache" | "bandwidth";
  /** "unallocated" or the id of the app holding the idle amount. */
  holder: string;
  amount: number;
  /** The app that would gain, and by how much (relative). */
  gainer: string;
  gain: number;
}

/** Every fairness figure of one node's allocation. */
export interface FairnessReport {
  /** Per app: throughput / throughput at the (water-filled) equal split. */
  ratioToEqualSplit: Record<string, number>;
  envyPairs: EnvyPair[];
  sharingIncentiveViolations: string[];
  paretoGaps: ParetoGap[];
  endowmentLosses: EndowmentLoss[];
  utilisation: { cache: number; bandwidth: number };
  jainIndex: number;
  geometricMeanRatio: number;
}

/**
 * Pairs (i, j) where app i would gain more than `tolerance` from j's bundle. A bundle counts
 * only where i could hold it: capped at i's maxima, and not below i's minima.
 */
export function envyPairs(
  market: NodeMarket,
  bundles: readonly Bundle[],
  options: { tolerance?: number; among?: readonly number[] } = {},
): EnvyPair[] {
  const tolerance = options.tolerance ?? GUARANTEE_TOLERANCE;
  const among = options.among ?? market.apps.map((_, i) => i);
  const pairs: EnvyPair[] = [];
  for (const i of among) {
    const app = market.apps[i];
    const own = bundles[i];
    if (app === undefined || own === undefined) continue;
    const ownOps = opsOf(market, i, own);
    for (const j of among) {
      const other = bundles[j];
      if (j === i || other === undefined) continue;
      if (other.cacheMiB < app.limits.minCacheMiB - 1e-9) continue;
      if (other.bandwidthMbps < app.limits.minBandwidthMbps - 1e-9) continue;
      const ratio = opsOf(market, i, clipToLimits(other, app.limits)) / Math.max(ownOps, 1e-300);
      if (ratio > 1 + tolerance) {
        pairs.push({ envious: app.id, envied: market.apps[j]?.id ?? String(j), ratio });
      }
    }
  }
  return pairs;
}

/** Apps that get less than (1 - tolerance) of their throughput at `reference` bundles. */
export function sharingIncentiveViolations(
  market: NodeMarket,
  bundles: readonly Bundle[],
  reference: readonly Bundle[],
  tolerance = GUARANTEE_TOLERANCE,
): string[] {
  return market.apps.flatMap((app, i) => {
    const own = bundles[i];
    const ref = reference[i];
    if (own === undefined || ref === undefined) return [];
    return opsOf(market, i, own) < (1 - tolerance) * opsOf(market, i, ref) ? [app.id] : [];
  });
}

/** Fraction of each good's capacity allocated. */
export function utilisation(
  market: NodeMarket,
  bundles: readonly Bundle[],
): { cache: number; bandwidth: number } {
  const cache = bundles.reduce((a, b) => a + b.cacheMiB, 0);
  const bandwidth = bundles.reduce((a, b) => a + b.bandwidthMbps, 0);
  return {
    cache: market.cacheMiB > 0 ? cache / market.cacheMiB : 0,
    bandwidth: market.bandwidthMbps > 0 ? bandwidth / market.bandwidthMbps : 0,
  };
}

type Resource = "cache" | "bandwidth";
const KEY: Record<Resource, keyof Bundle> = { cache: "cacheMiB", bandwidth: "bandwidthMbps" };

function withExtra(bundle: Bundle, resource: Resource, amount: number): Bundle {
  const key = KEY[resource];
  return { ...bundle, [key]: bundle[key] + amount };
}

function headroom(market: NodeMarket, i: number, bundle: Bundle, resource: Resource): number {
  const limits = market.apps[i]?.limits;
  if (limits === undefined) return 0;
  const max = resource === "cache" ? limits.maxCacheMiB : limits.maxBandwidthMbps;
  return Math.max(0, max - bundle[KEY[resource]]);
}

/**
 * The most app i could give up of `resource` while losing less than IDLE_LOSS (0 when that
 * is not more than `above`, if given).
 */
export function idleAmount(
  market: NodeMarket,
  i: number,
  bundle: Bundle,
  resource: Resource,
  options: { above?: number } = {},
): number {
  const limits = market.apps[i]?.limits;
  if (limits === undefined) return 0;
  const min = resource === "cache" ? limits.minCacheMiB : limits.minBandwidthMbps;
  const spare = bundle[KEY[resource]] - min;
  if (spare <= 0) return 0;
  const target = opsOf(market, i, bundle) * (1 - IDLE_LOSS);
  const keeps = (r: number) => opsOf(market, i, withExtra(bundle, resource, -r)) >= target;
  if (keeps(spare)) return spare;
  // Callers that only care about amounts above a threshold skip the search below it.
  if (options.above !== undefined && (spare <= options.above || !keeps(options.above))) return 0;
  return lastWhere(keeps, { lo: 0, hi: spare, steps: 40 });
}

function bestGainer(
  market: NodeMarket,
  bundles: readonly Bundle[],
  resource: Resource,
  amount: number,
  exclude: number,
): { index: number; gain: number } {
  let best = { index: -1, gain: 0 };
  bundles.forEach((bundle, j) => {
    const app = market.apps[j];
    // An app with an unknown model keeps its equal split: it is no one to give to.
    if (j === exclude || app === undefined || isUnknown(app)) return;
    const extra = Math.min(amount, headroom(market, j, bundle, resource));
    if (extra <= 0) return;
    const before = opsOf(market, j, bundle);
    const gain = opsOf(market, j, withExtra(bundle, resource, extra)) / Math.max(before, 1e-300) -
      1;
    if (gain > best.gain) best = { index: j, gain };
  });
  return best;
}

/**
 * Practical Pareto gaps: capacity unallocated while an app would gain more than `tolerance`
 * from it, and capacity an app holds idle while another app would gain more than that from it.
 */
export function paretoGaps(
  market: NodeMarket,
  bundles: readonly Bundle[],
  tolerance = GUARANTEE_TOLERANCE,
): ParetoGap[] {
  const gaps: ParetoGap[] = [];
  for (const resource of ["cache", "bandwidth"] as const) {
    const capacity = resource === "cache" ? market.cacheMiB : market.bandwidthMbps;
    const used = bundles.reduce((a, b) => a + b[KEY[resource]], 0);
    const leftover = capacity - used;
    if (leftover > tolerance * capacity) {
      const { index, gain } = bestGainer(market, bundles, resource, leftover, -1);
      if (gain > tolerance) {
        gaps.push({
          resource,
          holder: "unallocated",
          amount: leftover,
          gainer: market.apps[index]?.id ?? "",
          gain,
        });
      }
    }
    bundles.forEach((bundle, i) => {
      const app = market.apps[i];
      // Its equal split is reserved: what it holds is not idle, only unmeasured.
      if (app === undefined || isUnknown(app)) return;
      const idle = idleAmount(market, i, bundle, resource, { above: tolerance * capacity });
      if (idle <= tolerance * capacity) return;
      const { index, gain } = bestGainer(market, bundles, resource, idle, i);
      if (gain > tolerance) {
        gaps.push({
          resource,
          holder: market.apps[i]?.id ?? "",
          amount: idle,
          gainer: market.apps[index]?.id ?? "",
          gain,
        });
      }
    });
  }
  return gaps;
}

/** An app holding less than its equal split of a good while some of that good idles. */
export interface EndowmentLoss {
  resource: "cache" | "bandwidth";
  app: string;
  /** How far below its equal split the app holds the good. */
  below: number;
  /** The good unallocated or held idle above an app's own equal split, in total. */
  idle: number;
}

/**
 * The idle-capacity rule's violations: apps holding more than `tolerance` of the capacity
 * below their equal split (`equal`) of a good while more than that of the good is unallocated
 * or held idle (see idleAmount) above some app's own equal split. Capacity nobody gains from
 * should have stayed where the equal split put it. Apps with unknown models are skipped.
 */
export function endowmentLosses(
  market: NodeMarket,
  bundles: readonly Bundle[],
  equal: readonly Bundle[],
  tolerance = GUARANTEE_TOLERANCE,
): EndowmentLoss[] {
  const losses: EndowmentLoss[] = [];
  for (const resource of ["cache", "bandwidth"] as const) {
    const key = KEY[resource];
    const capacity = resource === "cache" ? market.cacheMiB : market.bandwidthMbps;
    const threshold = tolerance * capacity;
    let idle = Math.max(0, capacity - bundles.reduce((a, b) => a + b[key], 0));
    bundles.forEach((bundle, j) => {
      const above = bundle[key] - (equal[j]?.[key] ?? 0);
      const app = market.apps[j];
      if (above <= 0 || app === undefined || isUnknown(app)) return;
      idle += Math.min(above, idleAmount(market, j, bundle, resource));
    });
    if (idle <= threshold) continue;
    bundles.forEach((bundle, i) => {
      const app = market.apps[i];
      const below = (equal[i]?.[key] ?? 0) - bundle[key];
      if (app === undefined || isUnknown(app) || below <= threshold) return;
      losses.push({ resource, app: app.id, below, idle });
    });
  }
  return losses;
}

/** All fairness figures of one node's allocation against its equal split. */
export function fairnessReport(
  market: NodeMarket,
  bundles: readonly Bundle[],
  equal: readonly Bundle[],
): FairnessReport {
  const ratios = market.apps.map((_, i) => {
    const own = bundles[i];
    const ref = equal[i];
    if (own === undefined || ref === undefined) return 1;
    const base = opsOf(market, i, ref);
    return base > 0 ? opsOf(market, i, own) / base : 1;
  });
  return {
    ratioToEqualSplit: Object.fromEntries(market.apps.map((a, i) => [a.id, ratios[i] as number])),
    envyPairs: envyPairs(market, bundles),
    sharingIncentiveViolations: sharingIncentiveViolations(market, bundles, equal),
    paretoGaps: paretoGaps(market, bundles),
    endowmentLosses: endowmentLosses(market, bundles, equal),
    utilisation: utilisation(market, bundles),
    jainIndex: jainIndex(ratios),
    geometricMeanRatio: geometricMean(ratios),
  };
}
