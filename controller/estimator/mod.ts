/**
 * The estimator: performance models from measurements (with their uncertainty), exploration
 * of unmodified programs, and prediction-error bookkeeping.
 * @module
 */
export type * from "./types.ts";
export { estimateModel } from "./fit.ts";
export { epochSample, type EpochSampleGap } from "./from_agent.ts";
export {
  type ExploreApp,
  type ExploreOptions,
  type ExplorePlan,
  MAX_EXPLORATION_LOSS,
  planExploration,
  type Probe,
} from "./explore.ts";
export {
  type EpochPrediction,
  epochPrediction,
  predictionBand,
  type PredictionErrorSummary,
  PredictionLedger,
  type PredictionPoint,
  relativeError,
  summariseByApp,
  summarisePredictionErrors,
} from "./prediction.ts";
