/**
 * What the controller knows about one app, per phase: apps that report their phase (phased
 * far-memory workloads) behave like different apps in each, so observations of one phase must
 * not shape the model of another. On a change, the phase left is shelved with its observations
 * and model, and a phase seen before gets its own back at once; a new phase starts from its
 * first observations. Pure.
 * @module
 */
import type { AppSample } from "../../agent/protocol.ts";
import type { PerformanceModel } from "../auction/model.ts";
import type { Estimate, EstimatorSample } from "../estimator/types.ts";

/** Observations, estimate and model of one phase. */
interface Knowledge {
  history: EstimatorSample[];
  estimate: Estimate | null;
  model: PerformanceModel | null;
}

/** An app's observations and model, kept apart per reported phase. */
export class PhaseMemory {
  /** Observations of the current phase, oldest first. */
  history: EstimatorSample[] = [];
  /** The estimate of the current phase (kept from the phase before until the new one has one). */
  estimate: Estimate | null = null;
  /** The model of the current phase (kept from the phase before until the new one has one). */
  model: PerformanceModel | null = null;
  #phase: string | undefined;
  readonly #shelved = new Map<string, Knowledge>();

  /** True once the app changed phase: its current phase may have few observations. */
  get changedPhase(): boolean {
    return this.#shelved.size > 0;
  }

  /**
   * Follows the phase the epoch's samples (time order) end in, and returns the samples of that
   * phase: the ones since the last change, or all of them when the phase did not change (or
   * the app reports none). A phase change shelves the phase left and restores the one entered
   * when it was seen before.
   */
  follow(samples: readonly AppSample[]): readonly AppSample[] {
    const phase = samples.at(-1)?.phase;
    if (phase === undefined) return samples;
    let start = samples.length - 1;
    while (start > 0 && samples[start - 1]?.phase === phase) start--;
    if (this.#phase === undefined || this.#phase === phase) {
      this.#phase = phase;
      return samples.slice(start);
    }
    this.#shelved.set(this.#phase, {
      history: this.history,
      estimate: this.estimate,
      model: this.model,
    });
    const known = this.#shelved.get(phase);
    this.history = known?.history ?? [];
    // Until the new phase has a model of its own, the last one stands (better than none: the
    // market keeps the app where it is rather than falling back to the equal split).
    this.model = known?.model ?? this.model;
    this.estimate = known?.estimate ?? this.estimate;
    this.#phase = phase;
    return samples.slice(start);
  }
}
