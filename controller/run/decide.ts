/**
 * The decision of one epoch, without I/O: from the agents' samples and the allocation in force
 * to each app's observation, refitted model, and the allocation it should have next (the policy
 * run per node of the plan).
 * @module
 */
import type { AppSample } from "../../agent/protocol.ts";
import type { AppLimits, Bundle, NodeAllocation, NodeMarket } from "../auction/market.ts";
import { buildModel, type PerformanceModel } from "../auction/model.ts";
import { POLICIES } from "../auction/policy.ts";
import { bundleOfBytes, bytesOfBundle, type ResourceBytes } from "../auction/units.ts";
import { estimateModel } from "../estimator/fit.ts";
import { epochSample } from "../estimator/from_agent.ts";
import type { Policy } from "../playbook/types.ts";
import type { AppAllocation } from "./allocation_state.ts";
import type { ComputePlan, RunPlan } from "./plan.ts";
import { PhaseMemory } from "./phase_memory.ts";
import { probeSplit } from "./probe.ts";
import { settledTail } from "./settled.ts";

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

/**
 * Observations kept per app: the estimator fits on the last 30 valid ones; the rest is margin
 * for invalid ones. Bounded, so a run of any length keeps constant memory and time per epoch.
 */
export const HISTORY_LIMIT = 120;

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
  /** The app's last sample so far (for resources used and enforceability). */
  lastSample: AppSample | null;
  /** The model after this epoch's observation; null while there is none. */
  model: PerformanceModel | null;
  /** What the previous epoch's model predicted for the allocation in force; null without one. */
  predictedOpsPerSec: number | null;
  /** The current model's prediction at the app's equal split; null without a model. */
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
}

/** Everything one epoch decided. */
export interface Decision {
  apps: Map<string, AppDecision>;
  nodes: NodeDecision[];
  /** The allocation every app should have next epoch. */
  targets: Map<string, ResourceBytes>;
  estimateMs: number;
  auctionMs: number;
}

/** Inputs of one decision. */
export interface DecideInput {
  epoch: number;
  /** Warm-up epochs keep (or probe around) the equal split. */
  warmup: boolean;
  /** Each app's samples taken during the epoch. */
  samples: ReadonlyMap<string, readonly AppSample[]>;
  /** Each app's allocation during the epoch (from the allocation state). */
  allocations: ReadonlyMap<string, AppAllocation>;
}

interface Learner {
  memory: PhaseMemory;
  lastSample: AppSample | null;
}

/** The controller's memory across epochs: observations and models per app. */
export class Decider {
  readonly #plan: RunPlan;
  readonly #policy: Policy;
  readonly #stopwatch: () => number;
  readonly #learners = new Map<string, Learner>();
  /** The last policy outcome per node: warm starts (prices, income scale) for the next. */
  readonly #previous = new Map<string, NodeAllocation>();

  constructor(plan: RunPlan, options: { policy: Policy; stopwatch?: () => number }) {
    this.#plan = plan;
    this.#policy = options.policy;
    this.#stopwatch = options.stopwatch ?? (() => performance.now());
    for (const compute of plan.computes) {
      for (const app of compute.apps) {
        this.#learners.set(app.name, { memory: new PhaseMemory(), lastSample: null });
      }
    }
  }

  /** The fitted model of `app`, or null while it has none. */
  model(app: string): PerformanceModel | null {
    return this.#learners.get(app)?.memory.model ?? null;
  }

  /**
   * Closes epoch `epoch`: turns each app's samples into an observation, refits its model, and
   * runs the policy on every node (the equal split while warming up, under `static`, or while
   * some app of the node has no model yet; probing around it during warm-up).
   */
  decide(input: DecideInput): Decision {
    const estimateStart = this.#stopwatch();
    const apps = new Map<string, AppDecision>();
    for (const [name, learner] of this.#learners) {
      apps.set(name, this.#learn(name, learner, input));
    }
    const estimateMs = this.#stopwatch() - estimateStart;
    const targets = new Map<string, ResourceBytes>();
    const nodes = this.#plan.computes.map((compute) =>
      this.#allocateNode(compute, { input, targets })
    );
    return {
      apps,
      nodes,
      targets,
      estimateMs,
      auctionMs: nodes.reduce((a, n) => a + n.auctionMs, 0),
    };
  }

  #learn(name: string, learner: Learner, input: DecideInput): AppDecision {
    const own = input.samples.get(name) ?? [];
    const { memory } = learner;
    const allocation = input.allocations.get(name);
    const inForce = allocation === undefined ? null : bundleOfBytes(allocation.inForce);
    const predictedOpsPerSec = memory.model === null || inForce === null
      ? null
      : memory.model.opsPerSec(inForce.cacheMiB, inForce.bandwidthMbps);
    learner.lastSample = own.at(-1) ?? learner.lastSample;
    const observation = epochSample(own, input.epoch);
    const opsPerSec = "gap" in observation ? null : observation.opsPerSec;
    // Only the samples of the app's current phase teach its model (all of them for apps that
    // report no phase); after a phase change, they start at the change.
    const phase = memory.follow(own);
    // The first epoch (start-up) teaches nothing. After a change the limits take a moment, and
    // a grown cache fills for a while: the model learns only from the samples of the epoch in
    // which its cache was settled, and never from the first half of an epoch after a change.
    if (
      opsPerSec !== null && input.epoch > 0 && (phase.length === own.length || phase.length >= 2)
    ) {
      const changed = allocation?.changedAtEpoch === input.epoch - 1;
      const tail = settledTail(phase);
      const from = Math.max(
        phase.length - tail.length,
        changed ? Math.floor(phase.length / 2) : 0,
      );
      const settled = tail.length === 0
        ? { gap: "the cache was still filling" }
        : epochSample(phase.slice(from), input.epoch);
      if (!("gap" in settled)) {
        memory.history.push(settled);
        if (memory.history.length > HISTORY_LIMIT) memory.history.shift();
        // A new phase is fitted from its first observation: its old model is another app's.
        const estimate = estimateModel(
          memory.history,
          memory.changedPhase ? { minSamples: 1 } : {},
        );
        if (estimate.status === "model") memory.model = buildModel(estimate.spec);
      }
    }
    const equal = this.#equalOf(name);
    return {
      opsPerSec,
      lastSample: learner.lastSample,
      model: memory.model,
      predictedOpsPerSec,
      equalSplitPredictedOpsPerSec: memory.model === null || equal === null
        ? null
        : memory.model.opsPerSec(equal.cacheMiB, equal.bandwidthMbps),
    };
  }

  #equalOf(name: string): Bundle | null {
    for (const compute of this.#plan.computes) {
      const app = compute.apps.find((a) => a.name === name);
      if (app !== undefined) return bundleOfBytes(app.equal);
    }
    return null;
  }

  #allocateNode(
    compute: ComputePlan,
    { input, targets }: { input: DecideInput; targets: Map<string, ResourceBytes> },
  ): NodeDecision {
    const models = compute.apps.map((a) => this.#learners.get(a.name)?.memory.model ?? null);
    const market: NodeMarket = {
      ...compute.market,
      apps: compute.market.apps.map((app, i) => ({
        ...app,
        model: models[i] ?? app.model,
        limits: withBandwidthFloor(app.limits, compute.apps[i]?.equal),
      })),
    };
    const learning = this.#policy !== "static";
    const ready = learning && !input.warmup && models.every((m) => m !== null);
    const started = this.#stopwatch();
    let decided: NodeDecision;
    if (ready) {
      const inForce = compute.apps.map((a) => {
        const allocation = input.allocations.get(a.name);
        return allocation === undefined
          ? bundleOfBytes(a.equal)
          : bundleOfBytes(allocation.inForce);
      });
      const last = this.#previous.get(compute.host);
      const allocation = POLICIES[this.#policy](
        market,
        last === undefined ? {} : {
          previous: { ...last, bundles: inForce },
          maxMoveFraction: MAX_MOVE_FRACTION,
        },
      );
      this.#previous.set(compute.host, allocation);
      compute.apps.forEach((app, i) => {
        const bundle = allocation.bundles[i];
        if (bundle !== undefined) targets.set(app.name, bytesOfBundle(bundle));
      });
      decided = {
        host: compute.host,
        prices: allocation.prices,
        auctionMs: 0,
        iterations: allocation.iterations,
        converged: allocation.converged,
      };
    } else {
      const equal = compute.apps.map((a) => a.equal);
      const bundles = learning
        ? probeSplit(market, equal.map(bundleOfBytes), input.epoch).map(bytesOfBundle)
        : equal;
      compute.apps.forEach((app, i) => targets.set(app.name, bundles[i] ?? app.equal));
      decided = {
        host: compute.host,
        prices: null,
        auctionMs: 0,
        iterations: 0,
        converged: true,
      };
    }
    decided.auctionMs = this.#stopwatch() - started;
    return decided;
  }
}
