/**
 * The decision of one epoch, without I/O: from the agents' samples and the allocation in force
 * to each app's observation, refitted model, and the allocation it should have next: the
 * policy run per node of the plan, then (under every policy but `static`) one bounded
 * exploration probe around it (controller/estimator/explore.ts).
 * @module
 */
import type { AppSample } from "../../agent/protocol.ts";
import type { AppLimits, Bundle, NodeAllocation, NodeMarket } from "../auction/market.ts";
import type { PerformanceModel } from "../auction/model.ts";
import { equalSplit } from "../auction/equal_split.ts";
import { POLICIES } from "../auction/policy.ts";
import { bundleOfBytes, bytesOfBundle, mibOfBytes, type ResourceBytes } from "../auction/units.ts";
import type { Probe } from "../estimator/explore.ts";
import { type EpochPrediction, epochPrediction } from "../estimator/prediction.ts";
import type { FitUncertainty } from "../estimator/types.ts";
import type { Policy } from "../playbook/types.ts";
import type { AppAllocation } from "./allocation_state.ts";
import { aroundOf, exploreNode } from "./explore_node.ts";
import { fillMiBPerMbps, type FillState, withinFillReach } from "./fill_reach.ts";
import { AppLearner, type EstimateStatus, isRunningSample } from "./learner.ts";
import type { ComputePlan, RunPlan } from "./plan.ts";
import { type EpochUsage, epochUsage } from "./usage.ts";

export { HISTORY_LIMIT } from "./learner.ts";

/**
 * Largest change of any app's bundle per epoch, as a fraction of node capacity: one epoch's
 * estimates, noisy as measurements are, cannot swing the allocation to an extreme at once.
 */
export const MAX_MOVE_FRACTION = 0.25;

/**
 * Least remote bandwidth any policy may leave an app, as a share of its equal split's: a model
 * whose curve reaches zero misses inside the cache on offer says the app needs no bandwidth
 * there, but its cache fills only through misses, so with none it would stall at zero
 * throughput, never to be observed again.
 */
export const MIN_BANDWIDTH_SHARE = 0.1;

/** `limits` with at least MIN_BANDWIDTH_SHARE of the equal split's bandwidth as the minimum. */
function withBandwidthFloor(limits: AppLimits, equal: ResourceBytes | undefined): AppLimits {
  if (equal === undefined) return limits;
  const floor = Math.min(
    limits.maxBandwidthMbps,
    MIN_BANDWIDTH_SHARE * bundleOfBytes(equal).bandwidthMbps,
  );
  return floor > limits.minBandwidthMbps ? { ...limits, minBandwidthMbps: floor } : limits;
}

/** What the decider learned about one app this epoch. */
export interface AppDecision {
  /** Observed throughput over the epoch; null when there was no usable sample (a gap). */
  opsPerSec: number | null;
  /** The app's last sample of this epoch while running; null when none arrived. */
  lastSample: AppSample | null;
  /** What the app used this epoch; null when no sample of the running app arrived. */
  usage: EpochUsage | null;
  /** The model after this epoch's observation (`unknown` included); null while there is none. */
  model: PerformanceModel | null;
  /** What the estimator says after this epoch: a model, `unknown`, `insufficient`, or none yet. */
  status: EstimateStatus;
  /** Why there is no fitted model (unknown or insufficient data); null with one. */
  reason: string | null;
  /** The fitted model's uncertainty after this epoch; null without a fitted model. */
  uncertainty: FitUncertainty | null;
  /** What the previous epoch's model predicted for the allocation in force; null without one. */
  predictedOpsPerSec: number | null;
  /** That prediction against the observation (error, band of the model's uncertainty). */
  prediction: EpochPrediction;
  /** The current model's prediction at the app's equal split; null without a fitted model. */
  equalSplitPredictedOpsPerSec: number | null;
}

/** The policy's outcome on one node. */
export interface NodeDecision {
  host: string;
  /** Clearing prices; null while the node keeps (or probes around) the equal split. */
  prices: NodeAllocation["prices"];
  auctionMs: number;
  iterations: number;
  converged: boolean;
  /** The probe that was in force during this epoch (planned the epoch before), if any. */
  probeInForce: Probe | null;
  /** The probe planned for the next epoch, if any. */
  probe: Probe | null;
  /** Why the next epoch has no probe (the planner's reason, or the policy). */
  noProbe?: string;
}

/** Everything one epoch decided. */
export interface Decision {
  apps: Map<string, AppDecision>;
  nodes: NodeDecision[];
  /** The allocation every app should have next epoch (the policy's, probes applied). */
  targets: Map<string, ResourceBytes>;
  /** The policy's own allocation for next epoch, before any probe. */
  policyTargets: Map<string, ResourceBytes>;
  /** The policy's allocation that was in force during this epoch, before its probe. */
  policyInForce: Map<string, ResourceBytes>;
  estimateMs: number;
  auctionMs: number;
}

/** Inputs of one decision. */
export interface DecideInput {
  epoch: number;
  /** Warm-up epochs keep the equal split (and probe around it every epoch). */
  warmup: boolean;
  /** Each app's samples taken during the epoch. */
  samples: ReadonlyMap<string, readonly AppSample[]>;
  /** Each app's allocation during the epoch (from the allocation state). */
  allocations: ReadonlyMap<string, AppAllocation>;
  /**
   * Apps whose process is gone (crashed and not relaunched yet, exited, left down): they get
   * no target, and their node's capacity is shared among the others until they are back.
   */
  absent?: ReadonlySet<string>;
}

/** The controller's memory across epochs: observations, models and exploration per app. */
export class Decider {
  readonly #plan: RunPlan;
  readonly #policy: Policy;
  readonly #stopwatch: () => number;
  readonly #epochMs: number | null;
  /** Per app, what it held at the end of the last epoch and how fast its cache can grow. */
  readonly #fill = new Map<string, FillState>();
  readonly #learners = new Map<string, AppLearner>();
  /**
   * The last policy outcome per node and the apps it was for: warm starts (prices, income
   * scale) and the bound on moves for the next, while the same apps take part.
   */
  readonly #previous = new Map<string, { apps: string; allocation: NodeAllocation }>();
  /** The policy's allocation per app, without probes: the allocation in force it meant. */
  readonly #base = new Map<string, ResourceBytes>();
  /** Per node, the probe planned for the epoch under way. */
  readonly #probes = new Map<string, Probe | null>();
  /** Each app's last running sample, to take the epoch's counter deltas from. */
  readonly #lastSample = new Map<string, AppSample>();

  constructor(
    plan: RunPlan,
    options: { policy: Policy; stopwatch?: () => number; epochMs?: number },
  ) {
    this.#epochMs = options.epochMs ?? null;
    this.#plan = plan;
    this.#policy = options.policy;
    this.#stopwatch = options.stopwatch ?? (() => performance.now());
    for (const compute of plan.computes) {
      for (const app of compute.apps) {
        this.#learners.set(app.name, new AppLearner());
        this.#base.set(app.name, { ...app.equal });
      }
    }
  }

  /** The model of `app` (fitted or `unknown`), or null while it has none. */
  model(app: string): PerformanceModel | null {
    return this.#learners.get(app)?.model ?? null;
  }

  /**
   * Closes epoch `epoch`: turns each app's samples into an observation, refits its model
   * around the policy's allocation, runs the policy on every node (the equal split while
   * warming up, under `static`, or while some app of the node has no model yet), and plans
   * the next epoch's probe around it.
   */
  decide(input: DecideInput): Decision {
    const estimateStart = this.#stopwatch();
    const policyInForce = new Map([...this.#base].map(([name, bytes]) => [name, { ...bytes }]));
    const apps = new Map<string, AppDecision>();
    for (const compute of this.#plan.computes) {
      for (const [i, app] of compute.apps.entries()) {
        apps.set(app.name, this.#learn(compute, i, input));
      }
    }
    const estimateMs = this.#stopwatch() - estimateStart;
    const targets = new Map<string, ResourceBytes>();
    const policyTargets = new Map<string, ResourceBytes>();
    const nodes = this.#plan.computes.map((compute) =>
      this.#allocateNode(compute, { input, targets, policyTargets })
    );
    return {
      apps,
      nodes,
      targets,
      policyTargets,
      policyInForce,
      estimateMs,
      auctionMs: nodes.reduce((a, n) => a + n.auctionMs, 0),
    };
  }

  #learn(compute: ComputePlan, index: number, input: DecideInput): AppDecision {
    const name = compute.apps[index]?.name ?? "";
    const learner = this.#learners.get(name) as AppLearner;
    const own = input.samples.get(name) ?? [];
    const allocation = input.allocations.get(name);
    const absent = input.absent?.has(name) ?? false;
    const inForce = allocation === undefined || absent ? null : bundleOfBytes(allocation.inForce);
    const before = learner.model;
    const predictedOpsPerSec = before === null || before.spec.kind === "unknown" ||
        inForce === null
      ? null
      : before.opsPerSec(inForce.cacheMiB, inForce.bandwidthMbps);
    const predictedUncertainty = learner.uncertainty?.relative ?? null;
    const running = own.filter(isRunningSample);
    const usage = epochUsage(running, this.#lastSample.get(name) ?? null);
    const last = running.at(-1);
    if (last !== undefined) this.#lastSample.set(name, last);
    this.#noteFill(name, { last, usage });
    const { opsPerSec } = learner.observe(running, {
      epoch: input.epoch,
      changed: allocation?.changedAtEpoch === input.epoch - 1,
    });
    const base = this.#base.get(name) ?? compute.apps[index]?.equal ?? zero();
    learner.refit(aroundOf(compute.market, index, bundleOfBytes(base)));
    const model = learner.model;
    const equalBytes = compute.apps[index]?.equal;
    const equal = equalBytes === undefined ? undefined : bundleOfBytes(equalBytes);
    const fitted = model !== null && model.spec.kind !== "unknown";
    return {
      opsPerSec,
      lastSample: absent ? null : last ?? null,
      usage,
      model,
      status: learner.status,
      reason: learner.reason,
      uncertainty: learner.uncertainty,
      predictedOpsPerSec,
      prediction: epochPrediction({
        predicted: predictedOpsPerSec,
        observed: opsPerSec,
        uncertainty: predictedUncertainty,
      }),
      equalSplitPredictedOpsPerSec: !fitted || equal === undefined
        ? null
        : model.opsPerSec(equal.cacheMiB, equal.bandwidthMbps),
    };
  }

  #noteFill(
    name: string,
    { last, usage }: { last: AppSample | undefined; usage: EpochUsage | null },
  ): void {
    if (last === undefined || usage === null || this.#epochMs === null) {
      this.#fill.delete(name);
      return;
    }
    const writes = last.enforceable.bandwidthWrite.enforced ? usage.remoteWriteMbps : 0;
    const limited = usage.remoteReadMbps + writes;
    const readShare = limited > 0 ? usage.remoteReadMbps / limited : 1;
    this.#fill.set(name, {
      residentMiB: mibOfBytes(last.residentBytes),
      fillMiBPerMbps: fillMiBPerMbps(this.#epochMs, readShare),
    });
  }

  #allocateNode(
    compute: ComputePlan,
    { input, targets, policyTargets }: {
      input: DecideInput;
      targets: Map<string, ResourceBytes>;
      policyTargets: Map<string, ResourceBytes>;
    },
  ): NodeDecision {
    const started = this.#stopwatch();
    // Apps whose process is gone take no part: the others share the node until they are back.
    const present = compute.apps.flatMap((app, i) => {
      const marketApp = compute.market.apps[i];
      if (input.absent?.has(app.name) || marketApp === undefined) return [];
      const learner = this.#learners.get(app.name) as AppLearner;
      const model = learner.model;
      const limits = withBandwidthFloor(marketApp.limits, app.equal);
      return [{
        app,
        learner,
        model,
        marketApp: {
          ...marketApp,
          model: model === null
            ? marketApp.model
            : withinFillReachOf(model, this.#fill.get(app.name)),
          limits,
        },
      }];
    });
    const market: NodeMarket = { ...compute.market, apps: present.map((p) => p.marketApp) };
    const everyone = present.length === compute.apps.length;
    const learning = this.#policy !== "static";
    const modelled = present.every((p) => p.model !== null);
    const ready = learning && !input.warmup && present.length > 0 && modelled;
    // Without a market: `static` keeps the plan's fixed split, as do learning policies while
    // every app is present; otherwise the apps present split the node equally.
    const equal = everyone || !learning
      ? present.map((p) => p.app.equal)
      : equalSplit(market).map(bytesOfBundle);
    let base: Bundle[];
    let decided: Omit<NodeDecision, "probeInForce" | "probe">;
    if (ready) {
      const apps = present.map((p) => p.app.name).join("\n");
      const last = this.#previous.get(compute.host);
      // The movement bound and warm start are relative to the policy's own last allocation,
      // never to a probe around it; the first allocation moves from the equal split. When an
      // app left or is coming back (it holds nothing yet), the node is shared anew at once,
      // without the bound on moves.
      const returning = present.some((p) => input.allocations.get(p.app.name)?.released);
      const previous = last !== undefined ? (last.apps === apps ? last.allocation : null) : {
        nodeId: compute.host,
        bundles: equal.map(bundleOfBytes),
        prices: null,
        iterations: 0,
        converged: true,
      };
      const options = previous === null || returning
        ? {}
        : { previous, maxMoveFraction: MAX_MOVE_FRACTION };
      const allocation = POLICIES[this.#policy](market, options);
      this.#previous.set(compute.host, { apps, allocation });
      base = allocation.bundles;
      decided = {
        host: compute.host,
        prices: allocation.prices,
        auctionMs: 0,
        iterations: allocation.iterations,
        converged: allocation.converged,
      };
    } else {
      base = equal.map(bundleOfBytes);
      decided = { host: compute.host, prices: null, auctionMs: 0, iterations: 0, converged: true };
    }
    decided.auctionMs = this.#stopwatch() - started;
    const plan = learning && present.length > 0
      ? exploreNode(market, {
        base,
        learners: present.map((p) => p.learner),
        epoch: input.epoch + 1,
        warmup: input.warmup || !modelled,
      })
      : {
        bundles: base,
        probe: null,
        reason: learning ? "no app of the node is running" : "the static policy does not explore",
      };
    present.forEach(({ app }, i) => {
      const split = equal[i] ?? app.equal;
      const policyBundle = base[i] ?? bundleOfBytes(split);
      // The equal split stays in exact bytes (a round trip through MiB and Mbps could move it).
      const policyBytes = ready ? bytesOfBundle(policyBundle) : split;
      const probed = plan.bundles[i];
      this.#base.set(app.name, policyBytes);
      policyTargets.set(app.name, policyBytes);
      targets.set(
        app.name,
        probed === undefined || sameBundle(probed, policyBundle)
          ? policyBytes
          : bytesOfBundle(probed),
      );
    });
    const probeInForce = this.#probes.get(compute.host) ?? null;
    this.#probes.set(compute.host, plan.probe);
    return {
      ...decided,
      probeInForce,
      probe: plan.probe,
      ...(plan.probe === null && plan.reason !== undefined ? { noProbe: plan.reason } : {}),
    };
  }
}

/** `model` within the app's fill reach for the next epoch, when its fill state is known. */
function withinFillReachOf(model: PerformanceModel, fill: FillState | undefined): PerformanceModel {
  return fill === undefined || model.spec.kind === "unknown" ? model : withinFillReach(model, fill);
}

function sameBundle(a: Bundle, b: Bundle): boolean {
  return a.cacheMiB === b.cacheMiB && a.bandwidthMbps === b.bandwidthMbps;
}

function zero(): ResourceBytes {
  return { cacheBytes: 0, bandwidthBytesPerSec: 0 };
}
