/**
 * Prediction-error bookkeeping: each epoch, the model's prediction for the allocation chosen
 * and the throughput then observed. Pure.
 * @module
 */

/** One app's prediction for one epoch and what was observed. */
export interface PredictionPoint {
  epoch: number;
  app: string;
  predictedOpsPerSec: number;
  observedOpsPerSec: number;
}

/** Error statistics over prediction points (relative errors, observed as the reference). */
export interface PredictionErrorSummary {
  /** Points with a prediction and a positive observation. */
  count: number;
  /** Mean absolute relative error |p - o| / o. */
  meanAbsoluteRelativeError: number;
  /** Median absolute relative error. */
  medianAbsoluteRelativeError: number;
  /** Mean signed relative error (p - o) / o: positive means the model over-predicts. */
  meanRelativeBias: number;
}

/** Relative error of one prediction, (predicted - observed) / observed; null if undefined. */
export function relativeError(predicted: number, observed: number): number | null {
  if (!Number.isFinite(predicted) || !Number.isFinite(observed) || observed <= 0) return null;
  return (predicted - observed) / observed;
}

/** Summarises prediction errors; `count` is 0 (and errors NaN) when nothing is usable. */
export function summarisePredictionErrors(
  points: readonly Pick<PredictionPoint, "predictedOpsPerSec" | "observedOpsPerSec">[],
): PredictionErrorSummary {
  const errors = points.flatMap((p) => {
    const e = relativeError(p.predictedOpsPerSec, p.observedOpsPerSec);
    return e === null ? [] : [e];
  });
  const abs = errors.map(Math.abs).sort((a, b) => a - b);
  const mean = (v: number[]) =>
    v.length === 0 ? Number.NaN : v.reduce((a, b) => a + b, 0) / v.length;
  const mid = abs.length >> 1;
  return {
    count: errors.length,
    meanAbsoluteRelativeError: mean(abs),
    medianAbsoluteRelativeError: abs.length === 0
      ? Number.NaN
      : abs.length % 2 === 1
      ? abs[mid] as number
      : ((abs[mid - 1] as number) + (abs[mid] as number)) / 2,
    meanRelativeBias: mean(errors),
  };
}

/** Accumulates prediction points per app across epochs (the run loop's ledger). */
export class PredictionLedger {
  readonly #points: PredictionPoint[] = [];

  /** Records one epoch's prediction and observation for an app. */
  record(point: PredictionPoint): void {
    this.#points.push(point);
  }

  /** Every point recorded, in order. */
  get points(): readonly PredictionPoint[] {
    return this.#points;
  }

  /** Error summary for one app, or for all apps when `app` is absent. */
  summary(app?: string): PredictionErrorSummary {
    return summarisePredictionErrors(
      app === undefined ? this.#points : this.#points.filter((p) => p.app === app),
    );
  }
}
