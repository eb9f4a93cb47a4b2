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
  /**
   * Remote-memory traffic the bandwidth allocation limits: reads and writes where both are
   * throttled (far-memory apps), swap-ins only where writes are not (cgroup apps).
   */
  remoteBytesPerSec: number;
  /** Miss-ratio curve reported by the agent, [[cacheMiB, missRatio], ...], if any. */
  mrc?: ReadonlyArray<readonly [number, number]>;
  /** Where the agent's curve comes from: the far-memory client's, or PEBS data addresses. */
  mrcSource?: "farmem" | "pebs";
  /** Bytes per second read back from swap or remote memory (swap-in), when measured. */
  swapInBytesPerSec?: number;
  /** Bytes per second written to swap or remote memory (swap-out), when measured. */
  swapOutBytesPerSec?: number;
  /** Major page faults per second. */
  majorFaultsPerSec?: number;
  /** Local memory resident at the end of the epoch, MiB. */
  residentMiB?: number;
  /** Share of the epoch some task of the app stalled on memory (PSI `some`), 0-1. */
  memoryStallShare?: number;
  /** memory.stat refaults per second (pages read back soon after eviction), where reported. */
  refaultsPerSec?: number;
  /** memory.stat activations per second (refaults that were in the working set). */
  activationsPerSec?: number;
  /**
   * False when the app's remote traffic could not be measured at all, so the traffic fields
   * are not observations (the app is then "unknown", never "constant"). Absent: measured.
   */
  trafficMeasured?: boolean;
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
  /**
   * Share of time stalled on memory above which negligible measured traffic is not believed
   * (default 0.05): the app is then "unknown" rather than "constant".
   */
  stallShareForTraffic?: number;
  /** Bootstrap resamples for the uncertainty (default 24; 0 skips the bootstrap). */
  bootstrapSamples?: number;
  /**
   * The allocation in force, around which the uncertainty is judged (default: the latest
   * sample's, which may be a probe).
   */
  around?: {
    cacheMiB: number;
    bandwidthMbps: number;
    /** The most the app can hold (its limits): the neighbourhood stops there. */
    maxCacheMiB?: number;
    maxBandwidthMbps?: number;
  };
}

/** How a model was fitted, for the epoch record and debugging. */
export interface FitReport {
  samplesUsed: number;
  outliersRejected: number;
  /**
   * Where the miss-ratio curve came from: the agent's (far-memory client or PEBS), misses per
   * op observed at the probed sizes (`observed`), or none (constant model).
   */
  mrcSource: "agent" | "observed" | "none";
  maxOpsPerSec: number;
  latencyRatio: number;
  bytesPerMiss: number;
  /** Curve points added from working-set activations (beyond the largest size observed). */
  refaultPoints?: number;
}

/** How sure a model is, for the record, prediction bands and exploration. */
export interface FitUncertainty {
  /** Robust spread (MAD as a standard deviation) of log(observed / predicted) on the samples. */
  residualSpread: number;
  /**
   * Half-width, relative to the median, of the 10-90 % band of bootstrap predictions: the
   * median over allocations around the one in force (cache and bandwidth x2/3, x1, x3/2).
   */
  bootstrapSpread: number;
  /** Distinct cache sizes ever observed (5 % apart). */
  distinctCacheSizes: number;
  /**
   * Whether the sides of the cache size in force (below, above, within a factor of 3/2) were
   * never observed, in any epoch so far: the model there is an extrapolation.
   */
  unobserved: { below: boolean; above: boolean };
  /** How many of those sides were never observed (0-2). */
  unobservedSides: number;
  /**
   * One relative uncertainty of predictions near the current allocation:
   * sqrt(residual² + bootstrap²) + 0.25 per unobserved side. Exploration probes the apps
   * where it is largest.
   */
  relative: number;
  /** 10-90 % ranges of the fitted parameters over the bootstrap resamples. */
  parameters: {
    maxOpsPerSec: [number, number];
    latencyRatio: [number, number];
    bytesPerMiss: [number, number];
  };
}

/** What the estimator returns for one app. */
export type Estimate =
  | {
    status: "model";
    spec: MrcModelSpec | ConstantModelSpec;
    fit: FitReport;
    uncertainty: FitUncertainty;
  }
  /** Traffic not measurable: no model can be fitted; policies keep the app at its equal split. */
  | { status: "unknown"; reason: string; samples: number }
  | { status: "insufficient"; reason: string; samples: number };
