/**
 * The decision of one epoch, without I/O: from the agents' samples and the allocation in force
 * to each app's observation, refitted model, and the allocation it should have next (the policy
 * run per node of the plan).
 * @module
 */
import type { AppSample } from "../../agent/protocol.ts";
import type { Bundle, NodeAllocation, NodeMarket } from "../auction/market.ts";
import { buildModel, type PerformanceModel } from "../auction/model.ts";
import { equalSplit } from "../auction/equal_split.ts";
import { POLICIES } from "../auction/policy.ts";
import { bundleOfBytes, bytesOfBundle, type ResourceBytes } from "../auction/units.ts";
import { estimateModel } from "../estimator/fit.ts";
import { epochSample } from "../estimator/from_agent.ts";
import type { EstimatorSample } from "../estimator/types.ts";
import type { Policy } from "../playbook/types.ts";
import type { AppAllocation } from "./allocation_state.ts";
import type { ComputePlan, RunPlan } from "./plan.ts";
import { probeSplit } from "./probe.ts";
import { settledTail } from "./settled.ts";

/**
 * Largest change of any app's bundle per epoch, as a fraction of node capacity: one epoch's
 * estimates, noisy as measurements are, cannot swing the allocation to an extreme at once.
 */
export const MAX_MOVE_FRACTION = 0.25;

/**
 * Observations kept per app: the estimator fits on the last 30 valid ones; the rest is margin
 * for invalid ones. Bounded, so a run of any length keeps constant memory and time per epoch.
 */
export const HISTORY_LIMIT = 120;

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
  /**
   * Apps whose process is gone (crashed and not relaunched yet, exited, left down): they get
   * no target, and their node's capacity is shared among the others until they are back.
   */
  absent?: ReadonlySet<string>;
}

interface Learner {
  history: EstimatorSample[];
  model: PerformanceModel | null;
  lastSample: AppSample | null;
}

/** The controller's memory across epochs: observations and models per app. */
export class Decider {
  readonly #plan: RunPlan;
  readonly #policy: Policy;
  readonly #stopwatch: () => number;
  readonly #learners = new Map<string, Learner>();
  /**
   * The last policy outcome per node and the apps it was for: warm starts (prices, income
   * scale) and the bound on moves for the next, while the same apps take part.
   */
  readonly #previous = new Map<string, { apps: string; allocation: NodeAllocation }>();

  constructor(plan: RunPlan, options: { policy: Policy; stopwatch?: () => number }) {
    this.#plan = plan;
    this.#policy = options.policy;
    this.#stopwatch = options.stopwatch ?? (() => performance.now());
    for (const compute of plan.computes) {
      for (const app of compute.apps) {
        this.#learners.set(app.name, { history: [], model: null, lastSample: null });
      }
    }
  }

  /** The fitted model of `app`, or null while it has none. */
  model(app: string): PerformanceModel | null {
    return this.#learners.get(app)?.model ?? null;
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
    const allocation = input.allocations.get(name);
    const absent = input.absent?.has(name) ?? false;
    const inForce = allocation === undefined || absent ? null : bundleOfBytes(allocation.inForce);
    const predictedOpsPerSec = learner.model === null || inForce === null
      ? null
      : learner.model.opsPerSec(inForce.cacheMiB, inForce.bandwidthMbps);
    learner.lastSample = own.at(-1) ?? learner.lastSample;
    const observation = epochSample(own, input.epoch);
    const opsPerSec = "gap" in observation ? null : observation.opsPerSec;
    // The first epoch (start-up) teaches nothing. After a change the limits take a moment, and
    // a grown cache fills for a while: the model learns only from the samples of the epoch in
    // which its cache was settled, and never from the first half of an epoch after a change.
    if (opsPerSec !== null && input.epoch > 0) {
      const changed = allocation?.changedAtEpoch === input.epoch - 1;
      const tail = settledTail(own);
      const from = Math.max(own.length - tail.length, changed ? Math.floor(own.length / 2) : 0);
      const settled = tail.length === 0
        ? { gap: "the cache was still filling" }
        : epochSample(own.slice(from), input.epoch);
      if (!("gap" in settled)) {
        learner.history.push(settled);
        if (learner.history.length > HISTORY_LIMIT) learner.history.shift();
        const estimate = estimateModel(learner.history);
        learner.model = estimate.status === "model" ? buildModel(estimate.spec) : null;
      }
    }
    const equal = this.#equalOf(name);
    return {
      opsPerSec,
      lastSample: absent ? null : learner.lastSample,
      model: learner.model,
      predictedOpsPerSec,
      equalSplitPredictedOpsPerSec: learner.model === null || equal === null
        ? null
        : learner.model.opsPerSec(equal.cacheMiB, equal.bandwidthMbps),
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
    const started = this.#stopwatch();
    // Apps whose process is gone take no part: the others share the node until they are back.
    const present = compute.apps.flatMap((app, i) => {
      const marketApp = compute.market.apps[i];
      if (input.absent?.has(app.name) || marketApp === undefined) return [];
      const model = this.#learners.get(app.name)?.model ?? null;
      return [{ app, model, marketApp: { ...marketApp, model: model ?? marketApp.model } }];
    });
    const market: NodeMarket = { ...compute.market, apps: present.map((p) => p.marketApp) };
    const everyone = present.length === compute.apps.length;
    const learning = this.#policy !== "static";
    const ready = learning && !input.warmup && present.length > 0 &&
      present.every((p) => p.model !== null);
    let decided: NodeDecision;
    if (ready) {
      const inForce = present.map(({ app }) => {
        const allocation = input.allocations.get(app.name);
        return allocation === undefined
          ? bundleOfBytes(app.equal)
          : bundleOfBytes(allocation.inForce);
      });
      const apps = present.map((p) => p.app.name).join("\n");
      const last = this.#previous.get(compute.host);
      // When an app left or is coming back (it holds nothing yet), the node is shared anew at
      // once, without the bound on moves.
      const returning = present.some((p) => input.allocations.get(p.app.name)?.released);
      const allocation = POLICIES[this.#policy](
        market,
        last === undefined || last.apps !== apps || returning ? {} : {
          previous: { ...last.allocation, bundles: inForce },
          maxMoveFraction: MAX_MOVE_FRACTION,
        },
      );
      this.#previous.set(compute.host, { apps, allocation });
      present.forEach(({ app }, i) => {
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
      // `static` keeps the plan's fixed split; learning policies split among the apps present.
      const equal = everyone || !learning
        ? present.map((p) => p.app.equal)
        : equalSplit(market).map(bytesOfBundle);
      const bundles = learning
        ? probeSplit(market, equal.map(bundleOfBytes), input.epoch).map(bytesOfBundle)
        : equal;
      present.forEach(({ app }, i) => targets.set(app.name, bundles[i] ?? app.equal));
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
