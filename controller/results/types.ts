/**
 * What a run records: one `EpochRecord` per line of epochs.jsonl, events in events.jsonl, and
 * the summary. Units are those users read: MiB, Mbps, ops/s, ms. Pure types.
 * @module
 */
import type { PredictionErrorSummary } from "../estimator/prediction.ts";

/** Version of the epochs.jsonl record layout; bumped on incompatible change. */
export const EPOCH_RECORD_VERSION = 1;

/** What one app was given, used and achieved during one epoch. */
export interface AppEpochRecord {
  name: string;
  /** Compute host the app runs on. */
  host: string;
  /** Allocation in force during the epoch. */
  cacheMiB: number;
  bandwidthMbps: number;
  /** Observed throughput over the epoch; null when no sample arrived (a fault). */
  opsPerSec: number | null;
  /** Resources actually used (averages over the epoch). */
  used: {
    cacheMiB: number;
    remoteReadMbps: number;
    remoteWriteMbps: number;
    /** Major page faults per second (cgroup apps), when measured. */
    majorFaultsPerSec?: number;
  };
  /** The model's prediction for this allocation; null while the app has no model yet. */
  predictedOpsPerSec: number | null;
  /**
   * Where the prediction came from: a fitted model kind, `unknown` (traffic not measurable: the
   * app is kept at its equal split), or the equal split while no model exists yet.
   */
  model: "mrc" | "constant" | "grid" | "unknown" | "equal-split";
  /** The fitted model itself (mrc curve and parameters), when one exists. */
  modelSpec?: import("../auction/model.ts").ModelSpec;
  /** The model's prediction at the equal split (the static baseline), when a model exists. */
  equalSplitPredictedOpsPerSec?: number | null;
  /** Whether the limits could be enforced (false e.g. without a swap device). */
  enforced?: { cache: boolean; bandwidth: boolean };
}

/** One compute node's market outcome for one epoch. */
export interface NodeEpochRecord {
  host: string;
  /** Capacities shared on this node. */
  cacheMiB: number;
  bandwidthMbps: number;
  /** Clearing prices (cache price per MiB, bandwidth price per Mbps, budget-normalised); null for policies without prices. */
  prices: { cache: number; bandwidth: number } | null;
  /** Wall time of the allocation step. */
  auctionMs: number;
  iterations?: number;
  converged?: boolean;
}

/** Everything one epoch decided and observed: one line of epochs.jsonl. */
export interface EpochRecord {
  v: typeof EPOCH_RECORD_VERSION;
  /** Epoch index from 0 (warm-up epochs included). */
  epoch: number;
  /** Wall-clock time at the end of the epoch (ISO 8601). */
  time: string;
  /** Milliseconds since the run started. */
  elapsedMs: number;
  /** Warm-up epochs are recorded but left out of the summary. */
  phase: "warmup" | "measure";
  policy: string;
  apps: AppEpochRecord[];
  nodes: NodeEpochRecord[];
  /** Control-loop overhead for this epoch. */
  timings?: {
    collectMs: number;
    estimateMs: number;
    auctionMs: number;
    enforceMs: number;
    totalMs: number;
  };
}

/** One line of events.jsonl: starts, stops, faults, restarts, gaps. */
export interface RunEvent {
  time: string;
  kind: "start" | "stop" | "fault" | "restart" | "gap" | "warning" | "info";
  message: string;
  host?: string;
  app?: string;
  details?: Record<string, unknown>;
}

/** Per-app figures of summary.json. */
export interface AppSummary {
  name: string;
  host: string;
  /** Measured epochs with a throughput sample. */
  epochs: number;
  meanOpsPerSec: number | null;
  meanCacheMiB: number;
  meanBandwidthMbps: number;
  /** Throughput under the static (equal-split) baseline, when known. */
  baselineOpsPerSec: number | null;
  baselineSource: "baseline-run" | "model" | null;
  /** meanOpsPerSec / baselineOpsPerSec. */
  ratioToBaseline: number | null;
  prediction: PredictionErrorSummary;
}

/** summary.json. */
export interface RunSummary {
  v: 1;
  playbook: string;
  policy: string;
  /** Epochs in epochs.jsonl, and how many were measured (not warm-up). */
  epochs: number;
  measuredEpochs: number;
  /** True when epochs.jsonl ended in a partial line (an interrupted run). */
  truncated: boolean;
  firstTime: string | null;
  lastTime: string | null;
  apps: AppSummary[];
  fairness: {
    /** Jain's index and geometric mean of the per-app ratios to the baseline (null if unknown). */
    jainIndexOfRatios: number | null;
    geometricMeanRatio: number | null;
    minRatio: number | null;
  };
  prediction: PredictionErrorSummary;
  /** Mean per-node auction time. */
  meanAuctionMs: number | null;
}
