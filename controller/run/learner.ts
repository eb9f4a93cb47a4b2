/**
 * What the controller learns about one app across epochs: its observations, its estimate (a
 * model with an uncertainty, `unknown`, or not yet), and its exploration so far. Pure.
 * @module
 */
import type { AppSample } from "../../agent/protocol.ts";
import type { Bundle } from "../auction/market.ts";
import { buildModel, type PerformanceModel } from "../auction/model.ts";
import { estimateModel } from "../estimator/fit.ts";
import { epochSample } from "../estimator/from_agent.ts";
import type { Estimate, FitUncertainty } from "../estimator/types.ts";
import { PhaseMemory } from "./phase_memory.ts";
import { settledTail } from "./settled.ts";

/**
 * Observations kept per app: the estimator fits on the last 30 valid ones; the rest is margin
 * for invalid ones. Bounded, so a run of any length keeps constant memory and time per epoch.
 */
export const HISTORY_LIMIT = 120;

/** Where the estimator judges an app's uncertainty: the allocation in force and its reach. */
export interface Around extends Bundle {
  /** The most the app can hold on its node (its limits, and the others' minima). */
  maxCacheMiB: number;
  maxBandwidthMbps: number;
}

/** One epoch's observation of an app. */
export interface Observation {
  /** Throughput over the epoch (its running samples); null without a usable sample. */
  opsPerSec: number | null;
  /** True when the epoch added a settled observation to the history (the model may change). */
  learned: boolean;
}

/** The estimate's status, for the record: what the market is told about the app. */
export type EstimateStatus = Estimate["status"] | "none";

/** A sample taken while the app's process was running (an exited app's last one is not). */
export function isRunningSample(sample: AppSample): boolean {
  return sample.state === "running" || sample.state === "starting";
}

/** One app's learning state (per reported phase: see PhaseMemory). */
export class AppLearner {
  readonly #memory = new PhaseMemory();
  #around: Around | null = null;
  #dirty = false;
  /** Epoch of the app's last probe, null if never probed. */
  lastProbedEpoch: number | null = null;
  /** Probes the app has had so far. */
  probes = 0;

  /** The model the market uses: fitted, `unknown` (kept at its equal split), or null (none yet). */
  get model(): PerformanceModel | null {
    return this.#memory.model;
  }

  /** The fitted model's uncertainty; null without a fitted model. */
  get uncertainty(): FitUncertainty | null {
    return this.#memory.estimate?.status === "model" ? this.#memory.estimate.uncertainty : null;
  }

  /** What the estimator last said. */
  get status(): EstimateStatus {
    return this.#memory.estimate?.status ?? "none";
  }

  /** Why there is no fitted model (unknown or insufficient); null with one. */
  get reason(): string | null {
    const estimate = this.#memory.estimate;
    return estimate === null || estimate.status === "model" ? null : estimate.reason;
  }

  /** True when the app's traffic is not measurable: it keeps its equal split, is not probed. */
  get unknown(): boolean {
    return this.#memory.estimate?.status === "unknown";
  }

  /**
   * Takes epoch `epoch`'s samples (time order). The first epoch (start-up) teaches nothing.
   * Only the samples of the app's current phase teach its model (all of them for apps that
   * report no phase); after a phase change, they start at the change. After a change of
   * allocation the limits take a moment, and a grown cache fills for a while: the model learns
   * only from the samples of the epoch in which its cache was settled, and never from the
   * first half of an epoch after a change (`changed`).
   */
  observe(
    samples: readonly AppSample[],
    { epoch, changed }: { epoch: number; changed: boolean },
  ): Observation {
    const running = samples.filter(isRunningSample);
    const whole = epochSample(running, epoch);
    const opsPerSec = "gap" in whole ? null : whole.opsPerSec;
    const phaseBefore = this.#memory.history;
    const phase = this.#memory.follow(running);
    if (this.#memory.history !== phaseBefore) this.#dirty = true;
    const wholePhase = phase.length === running.length || phase.length >= 2;
    if (opsPerSec === null || epoch === 0 || !wholePhase) return { opsPerSec, learned: false };
    const tail = settledTail(phase);
    const from = Math.max(
      phase.length - tail.length,
      changed ? Math.floor(phase.length / 2) : 0,
    );
    const settled = tail.length === 0 ? null : epochSample(phase.slice(from), epoch);
    if (settled === null || "gap" in settled) return { opsPerSec, learned: false };
    const history = this.#memory.history;
    history.push(settled);
    if (history.length > HISTORY_LIMIT) history.shift();
    this.#dirty = true;
    return { opsPerSec, learned: true };
  }

  /**
   * Refits the model when something changed since the last fit (a new observation, or the
   * allocation in force around which its uncertainty is judged).
   */
  refit(around: Around): void {
    if (!this.#dirty && this.#around !== null && sameAround(this.#around, around)) return;
    this.#around = { ...around };
    this.#dirty = false;
    const memory = this.#memory;
    if (memory.history.length === 0) return;
    // A new phase is fitted from its first observation: its old model is another phase's.
    const estimate = estimateModel(memory.history, {
      around,
      ...(memory.changedPhase ? { minSamples: 1 } : {}),
    });
    memory.estimate = estimate;
    memory.model = estimate.status === "model"
      ? buildModel(estimate.spec)
      : estimate.status === "unknown"
      ? buildModel({ kind: "unknown", reason: estimate.reason })
      : memory.changedPhase // until the new phase has a model, the last one stands
      ? memory.model
      : null;
  }

  /** Notes that the app is probed in `epoch`. */
  probed(epoch: number): void {
    this.lastProbedEpoch = epoch;
    this.probes++;
  }
}

function sameAround(a: Around, b: Around): boolean {
  return a.cacheMiB === b.cacheMiB && a.bandwidthMbps === b.bandwidthMbps &&
    a.maxCacheMiB === b.maxCacheMiB && a.maxBandwidthMbps === b.maxBandwidthMbps;
}
