/**
 * One epoch of the closed loop, without I/O: from the agents' samples to the record of the
 * epoch and the allocation for the next one (estimate, then run the policy per node).
 * @module
 */
import type { AppSample } from "../../agent/protocol.ts";
import { BYTES_PER_MIB, BYTES_PER_SEC_PER_MBPS } from "../../common/units.ts";
import { equalSplit } from "../auction/equal_split.ts";
import type { Bundle, NodeAllocation, NodeMarket } from "../auction/market.ts";
import { buildModel, type PerformanceModel } from "../auction/model.ts";
import { POLICIES } from "../auction/policy.ts";
import { estimateModel } from "../estimator/fit.ts";
import { epochSample } from "../estimator/from_agent.ts";
import type { EstimatorSample } from "../estimator/types.ts";
import type { App, ComputeHost, Playbook } from "../playbook/types.ts";
import { EPOCH_RECORD_VERSION, type EpochRecord, type NodeEpochRecord } from "../results/types.ts";
import { marketLimits } from "./plan.ts";

interface AppState {
  app: App;
  history: EstimatorSample[];
  model: PerformanceModel | null;
  /** The app's equal split on its node (the static baseline), fixed for the run. */
  equal: Bundle;
  /** Allocation in force during the current epoch. */
  current: Bundle;
  /** The model's prediction for `current`, made when it was chosen. */
  predicted: number | null;
  lastSample: AppSample | null;
  /** True when `current` took effect at the start of this epoch (the cache is still filling). */
  changed: boolean;
}

/** Share of its equal cache a probed app gains (the others give it up) while warming up. */
export const PROBE_FRACTION = 1;

/**
 * The equal split with one app's cache raised by PROBE_FRACTION (taken evenly from the others,
 * within limits), rotating through the apps epoch by epoch. While models are being learned,
 * this shows each app at more than one cache size, so the estimator can separate its
 * latency sensitivity from its throughput cap; the miss-ratio curve alone cannot.
 */
export function probeSplit(market: NodeMarket, epoch: number): Bundle[] {
  const bundles = equalSplit(market).map((b) => ({ ...b }));
  const n = bundles.length;
  if (n < 2) return bundles;
  const probed = epoch % n;
  const target = bundles[probed] as Bundle;
  const limits = market.apps[probed]?.limits;
  if (limits === undefined) return bundles;
  const others = bundles.map((b, i) =>
    i === probed ? 0 : b.cacheMiB - (market.apps[i]?.limits.minCacheMiB ?? 0)
  );
  const room = others.reduce((a, b) => a + b, 0);
  const extra = Math.min(
    target.cacheMiB * PROBE_FRACTION,
    limits.maxCacheMiB - target.cacheMiB,
    room,
  );
  if (!(extra > 0)) return bundles;
  target.cacheMiB += extra;
  bundles.forEach((b, i) => {
    if (i !== probed) b.cacheMiB -= extra * (others[i] as number) / room;
  });
  return bundles;
}

/**
 * Largest change of any app's bundle per epoch, as a fraction of node capacity: one epoch's
 * estimates, noisy as measurements are, cannot swing the allocation to an extreme at once.
 */
export const MAX_MOVE_FRACTION = 0.25;

/** What one epoch decided. */
export interface EpochDecision {
  record: EpochRecord;
  /** The allocation for the next epoch, per app name (only apps whose bundle changed). */
  changes: Map<string, Bundle>;
}

/** The controller's memory across epochs: histories, models, allocations. */
export class AllocationLoop {
  readonly #playbook: Playbook;
  readonly #apps = new Map<string, AppState>();
  readonly #previous = new Map<string, NodeAllocation>();
  readonly #now: () => number;

  constructor(playbook: Playbook, options: { now?: () => number } = {}) {
    this.#playbook = playbook;
    this.#now = options.now ?? (() => performance.now());
    for (const host of this.#computeHosts()) {
      const apps = playbook.apps.filter((a) => a.host === host.name);
      const equal = equalSplit(this.#market(host, apps.map(() => null)));
      apps.forEach((app, i) => {
        this.#apps.set(app.name, {
          app,
          history: [],
          model: null,
          equal: equal[i] ?? { cacheMiB: 0, bandwidthMbps: 0 },
          current: equal[i] ?? { cacheMiB: 0, bandwidthMbps: 0 },
          predicted: null,
          lastSample: null,
          changed: true,
        });
      });
    }
  }

  #computeHosts(): ComputeHost[] {
    return Object.values(this.#playbook.hosts).filter((h): h is ComputeHost =>
      h.role === "compute"
    );
  }

  #market(host: ComputeHost, models: readonly (PerformanceModel | null)[]): NodeMarket {
    const apps = this.#playbook.apps.filter((a) => a.host === host.name);
    const placeholder = buildModel({ kind: "constant", opsPerSec: 0 });
    return {
      id: host.name,
      cacheMiB: host.cacheBytes / BYTES_PER_MIB,
      bandwidthMbps: host.bandwidthBytesPerSec / BYTES_PER_SEC_PER_MBPS,
      apps: apps.map((app, i) => ({
        id: app.name,
        model: models[i] ?? placeholder,
        limits: marketLimits(app),
      })),
    };
  }

  /** The allocation in force for an app. */
  current(app: string): Bundle | undefined {
    return this.#apps.get(app)?.current;
  }

  /**
   * Closes epoch `epoch`: turns each app's samples into an observation, refits its model, runs
   * the policy on every node (the equal split while warming up, under `static`, or while some
   * app of the node has no model yet) and returns the epoch's record and the next allocation.
   */
  decide(
    { epoch, elapsedMs, warmup, samples }: {
      epoch: number;
      elapsedMs: number;
      warmup: boolean;
      samples: ReadonlyMap<string, readonly AppSample[]>;
    },
  ): EpochDecision {
    const estimateStart = this.#now();
    const observed = new Map<string, number | null>();
    for (const [name, state] of this.#apps) {
      const own = samples.get(name) ?? [];
      state.lastSample = own.at(-1) ?? state.lastSample;
      const observation = epochSample(own, epoch);
      const changed = state.changed;
      state.changed = false;
      if ("gap" in observation) {
        observed.set(name, null);
        continue;
      }
      observed.set(name, observation.opsPerSec);
      // After a change the cache fills (or drains) for a while: the model learns only from the
      // settled second half of such an epoch; the first epoch (start-up) teaches it nothing.
      if (epoch === 0) continue;
      const settled = changed
        ? epochSample(own.slice(Math.floor(own.length / 2)), epoch)
        : observation;
      if ("gap" in settled) continue;
      state.history.push(settled);
      const estimate = estimateModel(state.history);
      state.model = estimate.status === "model" ? buildModel(estimate.spec) : null;
    }
    const estimateMs = this.#now() - estimateStart;

    const apps = [...this.#apps.values()].map((state) =>
      this.#appRecord(state, observed.get(state.app.name) ?? null)
    );
    const nodes: NodeEpochRecord[] = [];
    const changes = new Map<string, Bundle>();
    let auctionMs = 0;
    for (const host of this.#computeHosts()) {
      const states = [...this.#apps.values()].filter((s) => s.app.host === host.name);
      const market = this.#market(host, states.map((s) => s.model));
      const ready = !warmup && this.#playbook.policy !== "static" &&
        states.every((s) => s.model !== null);
      const started = this.#now();
      const previous = this.#previous.get(host.name);
      const probing = !ready && this.#playbook.policy !== "static";
      const allocation: NodeAllocation = ready
        ? POLICIES[this.#playbook.policy](
          market,
          previous === undefined ? {} : { previous, maxMoveFraction: MAX_MOVE_FRACTION },
        )
        : {
          nodeId: host.name,
          bundles: probing ? probeSplit(market, epoch) : equalSplit(market),
          prices: null,
          iterations: 0,
          converged: true,
        };
      const elapsed = this.#now() - started;
      auctionMs += elapsed;
      if (ready) this.#previous.set(host.name, allocation);
      nodes.push({
        host: host.name,
        cacheMiB: market.cacheMiB,
        bandwidthMbps: market.bandwidthMbps,
        prices: allocation.prices,
        auctionMs: elapsed,
        iterations: allocation.iterations,
        converged: allocation.converged,
      });
      states.forEach((state, i) => {
        const next = allocation.bundles[i];
        if (next === undefined) return;
        const moved = Math.abs(next.cacheMiB - state.current.cacheMiB) > 0.5 ||
          Math.abs(next.bandwidthMbps - state.current.bandwidthMbps) > 0.5;
        if (moved) {
          changes.set(state.app.name, next);
          state.current = next;
          state.changed = true;
        }
        state.predicted = state.model === null
          ? null
          : state.model.opsPerSec(next.cacheMiB, next.bandwidthMbps);
      });
    }
    const record: EpochRecord = {
      v: EPOCH_RECORD_VERSION,
      epoch,
      time: new Date().toISOString(),
      elapsedMs,
      phase: warmup ? "warmup" : "measure",
      policy: this.#playbook.policy,
      apps,
      nodes,
      timings: { collectMs: 0, estimateMs, auctionMs, enforceMs: 0, totalMs: 0 },
    };
    return { record, changes };
  }

  #appRecord(state: AppState, opsPerSec: number | null): EpochRecord["apps"][number] {
    const sample = state.lastSample;
    const equal = state.equal;
    return {
      name: state.app.name,
      host: state.app.host,
      cacheMiB: state.current.cacheMiB,
      bandwidthMbps: state.current.bandwidthMbps,
      opsPerSec,
      used: {
        cacheMiB: (sample?.residentBytes ?? 0) / BYTES_PER_MIB,
        remoteReadMbps: (sample?.swapInBytesPerSec ?? 0) / BYTES_PER_SEC_PER_MBPS,
        remoteWriteMbps: (sample?.swapOutBytesPerSec ?? 0) / BYTES_PER_SEC_PER_MBPS,
      },
      predictedOpsPerSec: state.predicted,
      model: state.model === null ? "equal-split" : state.model.spec.kind,
      ...(state.model === null ? {} : { modelSpec: state.model.spec }),
      equalSplitPredictedOpsPerSec: state.model === null
        ? null
        : state.model.opsPerSec(equal.cacheMiB, equal.bandwidthMbps),
      ...(sample === null ? {} : {
        enforced: {
          cache: sample.enforceable.cache.enforced,
          bandwidth: sample.enforceable.bandwidthRead.enforced,
        },
      }),
    };
  }
}
