/**
 * Exploration on one compute node: the estimator's planner (controller/estimator/explore.ts)
 * fed with the node's apps as the controller knows them (limits, the policy's allocation, the
 * learned models and their uncertainty), and the reach of each app on its node. Pure.
 * @module
 */
import type { Bundle, NodeMarket } from "../auction/market.ts";
import { type ExplorePlan, planExploration } from "../estimator/explore.ts";
import type { AppLearner, Around } from "./learner.ts";

/**
 * The allocation around which app `index`'s uncertainty is judged: `current`, and the most it
 * can hold on the node (its maxima, and what the other apps' minima leave).
 */
export function aroundOf(market: NodeMarket, index: number, current: Bundle): Around {
  const others = market.apps.filter((_, j) => j !== index);
  const limits = market.apps[index]?.limits;
  const sum = (read: (l: NodeMarket["apps"][number]["limits"]) => number) =>
    others.reduce((a, app) => a + read(app.limits), 0);
  return {
    ...current,
    maxCacheMiB: Math.min(
      limits?.maxCacheMiB ?? market.cacheMiB,
      market.cacheMiB - sum((l) => l.minCacheMiB),
    ),
    maxBandwidthMbps: Math.min(
      limits?.maxBandwidthMbps ?? market.bandwidthMbps,
      market.bandwidthMbps - sum((l) => l.minBandwidthMbps),
    ),
  };
}

/**
 * Plans the probe of epoch `epoch` on `market`'s node around `base` (the policy's allocation,
 * market units, app order) and notes it on the probed app's learner.
 */
export function exploreNode(
  market: NodeMarket,
  { base, learners, epoch, warmup }: {
    base: readonly Bundle[];
    /** The apps' learners, in market order. */
    learners: readonly AppLearner[];
    /** The epoch the plan is for (the next one). */
    epoch: number;
    /** Probe every epoch (warming up, or some app of the node has no model yet). */
    warmup: boolean;
  },
): ExplorePlan {
  const plan = planExploration(
    market.apps.map((app, i) => {
      const learner = learners[i] as AppLearner;
      const uncertainty = learner.uncertainty;
      return {
        id: app.id,
        limits: app.limits,
        current: base[i] as Bundle,
        model: learner.unknown ? null : learner.model,
        uncertainty: uncertainty?.relative ?? null,
        ...(uncertainty === null ? {} : { unobserved: uncertainty.unobserved }),
        unknown: learner.unknown,
        lastProbedEpoch: learner.lastProbedEpoch,
        probes: learner.probes,
      };
    }),
    { epoch, warmup },
  );
  const probed = market.apps.findIndex((app) => app.id === plan.probe?.app);
  if (probed >= 0) learners[probed]?.probed(epoch);
  return plan;
}
