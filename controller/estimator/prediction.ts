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

/** One app's prediction for one epoch against what was observed, for the epoch record. */
export interface EpochPrediction {
  predictedOpsPerSec: number | null;
  observedOpsPerSec: number | null;
  /** (predicted - observed) / observed; null without both (or a non-positive observation). */
  relativeError: number | null;
  /** The model's band around the prediction (see predictionBand); null without both. */
  band: [number, number] | null;
  /** Whether the observation fell inside the band; null without a band. */
  withinBand: boolean | null;
}

/**
 * The band a model's relative uncertainty u (FitUncertainty.relative) puts around a
 * prediction p: [p / (1 + u), p * (1 + u)], about its 10-90 % range.
 */
export function predictionBand(predicted: number, relative: number): [number, number] {
  const u = Math.max(0, relative);
  return [predicted / (1 + u), predicted * (1 + u)];
}

/**
 * One app's prediction error for one epoch: what the loop records next to the observation.
 * @example epochPrediction({ predicted: 1200, observed: 1000, uncertainty: 0.1 })
 * // { relativeError: 0.2, band: [1090.9, 1320], withinBand: false, ... }
 */
export function epochPrediction(
  { predicted, observed, uncertainty }: {
    predicted: number | null;
    observed: number | null;
    /** The model's relative uncertainty; null or absent gives no band. */
    uncertainty?: number | null;
  },
): EpochPrediction {
  const error = predicted === null || observed === null ? null : relativeError(predicted, observed);
  const band = predicted === null || observed === null || uncertainty == null
    ? null
    : predictionBand(predicted, uncertainty);
  return {
    predictedOpsPerSec: predicted,
    observedOpsPerSec: observed,
    relativeError: error,
    band,
    withinBand: band === null || observed === null
      ? null
      : observed >= band[0] && observed <= band[1],
  };
}

/** Error summaries per app and over all apps, for the run summary. */
export function summariseByApp(
  points: readonly PredictionPoint[],
): { all: PredictionErrorSummary; apps: Record<string, PredictionErrorSummary> } {
  const apps: Record<string, PredictionErrorSummary> = {};
  for (const app of new Set(points.map((p) => p.app))) {
    apps[app] = summarisePredictionErrors(points.filter((p) => p.app === app));
  }
  return { all: summarisePredictionErrors(points), apps };
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
