/**
 * Repeated allocation epochs over a scenario, each starting from the previous allocation
 * exactly as the controller uses the market, and the fairness summary of the last one.
 * Pure except for the injected clock.
 * @module
 */
import { equalSplit } from "./equal_split.ts";
import {
  type EndowmentLoss,
  type EnvyPair,
  fairnessReport,
  geometricMean,
  jainIndex,
  type ParetoGap,
} from "./fairness.ts";
import type { NodeAllocation, Prices } from "./market.ts";
import { opsOf } from "./market.ts";
import { allocateNodes, type PolicyName } from "./policy.ts";
import type { Scenario } from "./scenario.ts";

/** One app's outcome in one epoch. */
export interface AppOutcome {
  id: string;
  node: string;
  cacheMiB: number;
  bandwidthMbps: number;
  opsPerSec: number;
  equalSplitOpsPerSec: number;
}

/** One node's market outcome in one epoch. */
export interface NodeOutcome {
  id: string;
  prices: Prices | { cache: null; bandwidth: null };
  iterations: number;
  converged: boolean;
  note?: string;
}

/** One epoch of allocation. */
export interface EpochOutcome {
  epoch: number;
  elapsedMs: number;
  nodes: NodeOutcome[];
  apps: AppOutcome[];
}

/** Fairness of the final allocation, over all nodes. */
export interface ScenarioFairness {
  ratioToEqualSplit: Record<string, number>;
  jainIndex: number;
  geometricMeanRatio: number;
  envyPairs: EnvyPair[];
  sharingIncentiveViolations: string[];
  paretoGaps: Array<ParetoGap & { node: string }>;
  endowmentLosses: Array<EndowmentLoss & { node: string }>;
  utilisation: Record<string, { cache: number; bandwidth: number }>;
}

/** The whole result of `spirit allocate`. */
export interface AllocationRun {
  policy: PolicyName;
  epochs: EpochOutcome[];
  fairness: ScenarioFairness;
}

/** Runs `epochs` epochs of `policy` over the scenario. */
export function runEpochs(
  scenario: Scenario,
  { policy, epochs, maxMoveFraction, now = () => performance.now() }: {
    policy: PolicyName;
    epochs: number;
    maxMoveFraction?: number;
    now?: () => number;
  },
): AllocationRun {
  const outcomes: EpochOutcome[] = [];
  let previous = new Map<string, NodeAllocation>();
  let last: NodeAllocation[] = [];
  const equal = new Map(scenario.markets.map((m) => [m.id, equalSplit(m)]));
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const started = now();
    const options = maxMoveFraction === undefined ? { previous } : { previous, maxMoveFraction };
    last = allocateNodes(scenario.markets, policy, options);
    const elapsedMs = now() - started;
    previous = new Map(last.map((a) => [a.nodeId, a]));
    outcomes.push({
      epoch,
      elapsedMs,
      nodes: last.map((a) => {
        const node: NodeOutcome = {
          id: a.nodeId,
          prices: a.prices ?? { cache: null, bandwidth: null },
          iterations: a.iterations,
          converged: a.converged,
        };
        if (a.note !== undefined) node.note = a.note;
        return node;
      }),
      apps: scenario.markets.flatMap((market, m) =>
        market.apps.map((app, i) => {
          const bundle = last[m]?.bundles[i] ?? { cacheMiB: 0, bandwidthMbps: 0 };
          const reference = equal.get(market.id)?.[i] ?? bundle;
          return {
            id: app.id,
            node: market.id,
            cacheMiB: bundle.cacheMiB,
            bandwidthMbps: bundle.bandwidthMbps,
            opsPerSec: opsOf(market, i, bundle),
            equalSplitOpsPerSec: opsOf(market, i, reference),
          };
        })
      ),
    });
  }
  return { policy, epochs: outcomes, fairness: summarise(scenario, last, equal) };
}

function summarise(
  scenario: Scenario,
  allocations: readonly NodeAllocation[],
  equal: ReadonlyMap<string, ReturnType<typeof equalSplit>>,
): ScenarioFairness {
  const fairness: ScenarioFairness = {
    ratioToEqualSplit: {},
    jainIndex: 1,
    geometricMeanRatio: 1,
    envyPairs: [],
    sharingIncentiveViolations: [],
    paretoGaps: [],
    endowmentLosses: [],
    utilisation: {},
  };
  scenario.markets.forEach((market, m) => {
    const bundles = allocations[m]?.bundles ?? [];
    const report = fairnessReport(market, bundles, equal.get(market.id) ?? []);
    Object.assign(fairness.ratioToEqualSplit, report.ratioToEqualSplit);
    fairness.envyPairs.push(...report.envyPairs);
    fairness.sharingIncentiveViolations.push(...report.sharingIncentiveViolations);
    fairness.paretoGaps.push(...report.paretoGaps.map((g) => ({ ...g, node: market.id })));
    fairness.endowmentLosses.push(
      ...report.endowmentLosses.map((l) => ({ ...l, node: market.id })),
    );
    fairness.utilisation[market.id] = report.utilisation;
  });
  const ratios = Object.values(fairness.ratioToEqualSplit);
  fairness.jainIndex = jainIndex(ratios);
  fairness.geometricMeanRatio = geometricMean(ratios);
  return fairness;
}
