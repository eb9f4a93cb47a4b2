/**
 * The estimator: performance models from measurements, and prediction-error bookkeeping.
 * @module
 */
export type * from "./types.ts";
export { estimateModel } from "./fit.ts";
export { epochSample, type EpochSampleGap } from "./from_agent.ts";
export {
  type PredictionErrorSummary,
  PredictionLedger,
  type PredictionPoint,
  relativeError,
  summarisePredictionErrors,
} from "./prediction.ts";
