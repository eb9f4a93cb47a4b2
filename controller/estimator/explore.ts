/**
 * Exploration: bounded probes of the cache and bandwidth limits around the allocation in force,
 * so the estimator sees each unmodified program at more than one size. Pure and
 * deterministic (seeded by the epoch; no clock, no Math.random).
 *
 * Each epoch that explores probes one app of a node: its cache or bandwidth goes up (taken
 * from the other apps) or down (given to them), in turn. No app may lose more than
 * `maxLossFraction` of its throughput to a probe: with a model, by the model's own prediction;
 * without one, by the proportional bound (a program's throughput falls at most in proportion
 * to the resource taken: exact for bandwidth-bound programs, conservative for concave ones;
 * cliff-shaped programs can lose more, which is why the cut is small). Node sums are unchanged
 * and every bundle stays within its limits. Apps whose model is unknown keep their allocation.
 * @module
 */
import { seededRandom } from "../auction/generate.ts";
import type { AppLimits, Bundle } from "../auction/market.ts";
import type { PerformanceModel } from "../auction/model.ts";
import { lastWhere } from "../auction/search.ts";
import { UNOBSERVED_SIDE_PENALTY } from "./uncertainty.ts";

/** Largest share of its throughput an app may lose to exploration in one epoch (5 %). */
export const MAX_EXPLORATION_LOSS = 0.05;

/** One app as the planner sees it. */
export interface ExploreApp {
  id: string;
  limits: AppLimits;
  /** The allocation in force (the market's, or the equal split while warming up). */
  current: Bundle;
  /** Its fitted model, or null without one (then the proportional bound applies). */
  model: PerformanceModel | null;
  /** Relative uncertainty of its model (FitUncertainty.relative); null without a model. */
  uncertainty: number | null;
  /**
   * Sides of its cache size never observed (FitUncertainty.unobserved): probed first, and not
   * counted against the model where its limits make them unreachable.
   */
  unobserved?: { below: boolean; above: boolean };
  /** True when its traffic is not measurable: it is neither probed nor a donor. */
  unknown?: boolean;
  /** Epoch of its last probe, null if never probed. */
  lastProbedEpoch: number | null;
  /** Probes it has had so far (the direction cycles with it). */
  probes: number;
}

/** Tuning of exploration; every field has a default. */
export interface ExploreOptions {
  /** The epoch being planned (seeds the probe sizes). */
  epoch: number;
  /** While warming up every epoch explores; afterwards only every `everyEpochs`-th. */
  warmup: boolean;
  /** Largest share of throughput any app may lose to a probe (MAX_EXPLORATION_LOSS). */
  maxLossFraction?: number;
  /**
   * Largest increase of the probed resource, relative to the app's current amount (0.5); a
   * decrease goes at most to 1 / (1 + probeFraction) of it.
   */
  probeFraction?: number;
  /** Apps whose uncertainty is at or below this need no more probes after warm-up (0.1). */
  uncertaintyThreshold?: number;
  /** After warm-up, explore on every `everyEpochs`-th epoch (4). */
  everyEpochs?: number;
  /**
   * An app still needing probes waits at most this many epochs before it is probed ahead of
   * more uncertain apps (default: twice the number of apps needing probes).
   */
  maxWaitEpochs?: number;
}

/** A probe of one app's limit. */
export interface Probe {
  app: string;
  good: "cacheMiB" | "bandwidthMbps";
  /** +1: the app gets more (from the others); -1: it gives some to the others. */
  direction: 1 | -1;
  /** How much of the good moved. */
  amount: number;
  /** Predicted (or bounded) share of throughput each affected app loses, by app id. */
  expectedLoss: Record<string, number>;
}

/** What exploration decided for one node and epoch. */
export interface ExplorePlan {
  /** The bundles to enforce this epoch, in app order (the current ones when not exploring). */
  bundles: Bundle[];
  probe: Probe | null;
  /** Why there is no probe, when there is none. */
  reason?: string;
}

/** A size within this share of the current one is not a new size (uncertainty.ts). */
const REACH = 0.05;
/** Smallest probe, as a share of the current amount: a new size, beyond REACH. */
const SMALLEST_PROBE = 0.1;
/** Holdings below this share of the node are probed as if they held it. */
const SMALLEST_BASE = 0.02;

const DIRECTIONS: ReadonlyArray<{ good: Probe["good"]; direction: 1 | -1 }> = [
  { good: "cacheMiB", direction: 1 },
  { good: "cacheMiB", direction: -1 },
  { good: "bandwidthMbps", direction: 1 },
  { good: "bandwidthMbps", direction: -1 },
];

/**
 * Plans this epoch's exploration on one node: which app to probe, in which direction, by
 * how much, and the resulting bundles.
 * @example
 * const plan = planExploration(apps, { epoch, warmup });
 * enforce(plan.bundles); // then, next epoch, back to the market's allocation
 */
export function planExploration(
  apps: readonly ExploreApp[],
  options: ExploreOptions,
): ExplorePlan {
  const o = {
    maxLossFraction: MAX_EXPLORATION_LOSS,
    probeFraction: 0.5,
    uncertaintyThreshold: 0.1,
    everyEpochs: 4,
    ...options,
  };
  const bundles = apps.map((a) => ({ ...a.current }));
  const needing = apps.flatMap((a, i) =>
    !a.unknown && (a.uncertainty === null || need(a) > o.uncertaintyThreshold) ? [i] : []
  );
  if (needing.length === 0) return { bundles, probe: null, reason: "every model is certain" };
  if (!o.warmup && o.epoch % o.everyEpochs !== 0) {
    return { bundles, probe: null, reason: `explores every ${o.everyEpochs} epochs` };
  }
  const maxWait = o.maxWaitEpochs ?? 2 * needing.length;
  for (const i of order(apps, needing, { epoch: o.epoch, maxWait })) {
    const app = apps[i] as ExploreApp;
    for (const { good, direction } of directions(app)) {
      const probe = tryProbe(apps, { i, good, direction, o });
      if (probe !== null) return probe;
    }
  }
  return { bundles, probe: null, reason: "no probe fits within the loss bound and the limits" };
}

/**
 * An app's uncertainty without the penalty (UNOBSERVED_SIDE_PENALTY) for sides of its cache
 * size it cannot reach (at its minimum or maximum): probing cannot remove that.
 */
function need(app: ExploreApp): number {
  const u = app.uncertainty ?? Infinity;
  const sides = app.unobserved;
  if (sides === undefined) return u;
  const { cacheMiB } = app.current;
  const unreachable = (sides.below && cacheMiB * (1 - REACH) <= app.limits.minCacheMiB ? 1 : 0) +
    (sides.above && cacheMiB * (1 + REACH) >= app.limits.maxCacheMiB ? 1 : 0);
  return u - UNOBSERVED_SIDE_PENALTY * unreachable;
}

/** The directions to try for an app: an unobserved side of its cache first, then in turn. */
function directions(app: ExploreApp): Array<{ good: Probe["good"]; direction: 1 | -1 }> {
  const turn = DIRECTIONS.map((_, k) => DIRECTIONS[(app.probes + k) % DIRECTIONS.length]) as Array<
    { good: Probe["good"]; direction: 1 | -1 }
  >;
  const first = [
    ...(app.unobserved?.above ? [{ good: "cacheMiB" as const, direction: 1 as const }] : []),
    ...(app.unobserved?.below ? [{ good: "cacheMiB" as const, direction: -1 as const }] : []),
  ];
  const rest = turn.filter((d) =>
    !first.some((f) => f.good === d.good && f.direction === d.direction)
  );
  return [...first, ...rest];
}

/**
 * The apps needing probes in the order to try them: those waiting `maxWait` epochs or more
 * (never probed first, then the longest waiting), then the most uncertain (no model counts
 * as most uncertain), the app probed last epoch last.
 */
function order(
  apps: readonly ExploreApp[],
  needing: readonly number[],
  { epoch, maxWait }: { epoch: number; maxWait: number },
): number[] {
  const waited = (i: number) => {
    const last = apps[i]?.lastProbedEpoch ?? null;
    return last === null ? Infinity : epoch - last;
  };
  const uncertainty = (i: number) => {
    const app = apps[i];
    return app === undefined ? 0 : need(app);
  };
  return [...needing].sort((a, b) => {
    const overdueA = waited(a) >= maxWait;
    const overdueB = waited(b) >= maxWait;
    if (overdueA !== overdueB) return overdueA ? -1 : 1;
    if (overdueA) return waited(b) - waited(a) || a - b;
    const justA = waited(a) <= 1;
    const justB = waited(b) <= 1;
    if (justA !== justB) return justA ? 1 : -1;
    return uncertainty(b) - uncertainty(a) || waited(b) - waited(a) || a - b;
  });
}

type Resolved = Required<Omit<ExploreOptions, "maxWaitEpochs">>;

/** The loss of an app moved from `from` to `to`: its model's, else the proportional bound. */
function lossOf(app: ExploreApp, to: Bundle): number {
  const from = app.current;
  if (app.model !== null) {
    const before = app.model.opsPerSec(from.cacheMiB, from.bandwidthMbps);
    if (!(before > 0)) return 0;
    return Math.max(0, 1 - app.model.opsPerSec(to.cacheMiB, to.bandwidthMbps) / before);
  }
  const share = (good: Probe["good"]) =>
    from[good] > 0 ? Math.max(0, 1 - to[good] / from[good]) : 0;
  return Math.max(share("cacheMiB"), share("bandwidthMbps"));
}

/** The most of `good` app `app` can give up within the loss bound and its minimum. */
function givable(app: ExploreApp, good: Probe["good"], maxLoss: number): number {
  const min = good === "cacheMiB" ? app.limits.minCacheMiB : app.limits.minBandwidthMbps;
  const spare = Math.max(0, app.current[good] - min);
  if (spare <= 0) return 0;
  const fits = (amount: number) =>
    lossOf(app, { ...app.current, [good]: app.current[good] - amount }) <= maxLoss + 1e-12;
  if (fits(spare)) return spare;
  return lastWhere(fits, { lo: 0, hi: spare, steps: 30 });
}

/** How much more of `good` app `app` can hold. */
function room(app: ExploreApp, good: Probe["good"]): number {
  const max = good === "cacheMiB" ? app.limits.maxCacheMiB : app.limits.maxBandwidthMbps;
  return Math.max(0, max - app.current[good]);
}

/** The probe of app i in one direction, or null when it cannot move anything. */
function tryProbe(
  apps: readonly ExploreApp[],
  { i, good, direction, o }: { i: number; good: Probe["good"]; direction: 1 | -1; o: Resolved },
): ExplorePlan | null {
  const app = apps[i] as ExploreApp;
  const others = apps.flatMap((a, j) => j !== i && !a.unknown ? [j] : []);
  if (others.length === 0) return null;
  // Probe sizes vary from epoch to epoch, so the estimator sees many sizes: up by 10 % to
  // `probeFraction` of the current amount, down to between 1/(1 + probeFraction) and 90 % of
  // it (the neighbourhood whose uncertainty the estimator reports). A tiny holding is probed
  // by a share of the node instead. The seed makes the sizes reproducible.
  const random = seededRandom(Math.imul(o.epoch + 1, 2654435761) ^ i);
  const total = apps.reduce((a, b) => a + b.current[good], 0);
  const base = Math.max(app.current[good], SMALLEST_BASE * total);
  const largest = direction > 0 ? o.probeFraction : o.probeFraction / (1 + o.probeFraction);
  const share = SMALLEST_PROBE + (largest - SMALLEST_PROBE) * random();
  const wanted = share * base;
  // Up: the others give (each within the loss bound); down: the app gives, the others take.
  const counterpart = others.map((j) =>
    direction > 0
      ? givable(apps[j] as ExploreApp, good, o.maxLossFraction)
      : room(apps[j] as ExploreApp, good)
  );
  const available = counterpart.reduce((a, b) => a + b, 0);
  const own = direction > 0 ? room(app, good) : givable(app, good, o.maxLossFraction);
  const amount = Math.min(wanted, available, own);
  if (!(amount > 1e-9 * Math.max(1, total))) return null;
  const bundles = apps.map((a) => ({ ...a.current }));
  (bundles[i] as Bundle)[good] += direction * amount;
  others.forEach((j, k) => {
    (bundles[j] as Bundle)[good] -= direction * amount * (counterpart[k] as number) / available;
  });
  const expectedLoss: Record<string, number> = {};
  apps.forEach((a, j) => {
    const loss = lossOf(a, bundles[j] as Bundle);
    if (j === i || loss > 0) expectedLoss[a.id] = loss;
  });
  return { bundles, probe: { app: app.id, good, direction, amount, expectedLoss } };
}
