/**
 * Estimator inputs and outputs. Pure types.
 * @module
 */
import type { ConstantModelSpec, MrcModelSpec } from "../auction/model.ts";

/** One epoch's observation of one app, in the units the auction uses. */
export interface EstimatorSample {
  /** Epoch index (samples are ordered by it). */
  epoch: number;
  /** Allocation in force while the sample was taken. */
  cacheMiB: number;
  bandwidthMbps: number;
  /** Observed application throughput. */
  opsPerSec: number;
  /** Remote-memory traffic actually moved (reads + writes). */
  remoteBytesPerSec: number;
  /** Miss-ratio curve reported by the agent, [[cacheMiB, missRatio], ...], if any. */
  mrc?: ReadonlyArray<readonly [number, number]>;
}

/** Tuning of the estimator; every field has a documented default. */
export interface EstimatorOptions {
  /** Samples needed before a model is produced (default 3); below it: equal split. */
  minSamples?: number;
  /** Most recent samples used (default 30): a sliding window that follows phase changes. */
  window?: number;
  /** Robust z-score above which a sample is an outlier (default 3.5). */
  outlierThreshold?: number;
  /** A sample whose traffic is at least this fraction of its bandwidth is bandwidth-bound (0.85). */
  boundFraction?: number;
  /** Page size in bytes, the unit of a miss when nothing else is known (default 4096). */
  pageBytes?: number;
  /** Miss ratios below this on every sample mean the app does not use remote memory (0.002). */
  constantMissRatio?: number;
}

/** How a model was fitted, for the epoch record and debugging. */
export interface FitReport {
  samplesUsed: number;
  outliersRejected: number;
  /** Where the miss-ratio curve came from. */
  mrcSource: "agent" | "observed" | "none";
  maxOpsPerSec: number;
  latencyRatio: number;
  bytesPerMiss: number;
}

/** What the estimator returns for one app. */
export type Estimate =
  | { status: "model"; spec: MrcModelSpec | ConstantModelSpec; fit: FitReport }
  | { status: "insufficient"; reason: string; samples: number };
