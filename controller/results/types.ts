/**
 * What a run records: one `EpochRecord` per line of epochs.jsonl, events in events.jsonl, and
 * the summary. Units are those users read: MiB, Mbps, ops/s, ms. Pure types.
 * @module
 */
import type { PredictionErrorSummary } from "../estimator/prediction.ts";
import type { AllocatedShare } from "./allocated_share.ts";
import type { ExplorationCost } from "./exploration_cost.ts";

/** Version of the epochs.jsonl record layout; bumped on incompatible change. */
export const EPOCH_RECORD_VERSION = 1;

/** What one app was given, used and achieved during one epoch. */
export interface AppEpochRecord {
  name: string;
  /** Compute host the app runs on. */
  host: string;
  /** Allocation in force during the epoch (what the agent actually applied). */
  cacheMiB: number;
  bandwidthMbps: number;
  /**
   * What the policy asked for when it differs from what was in force (the enforcement failed,
   * or a grow waited for capacity a failed shrink still held); absent when they are equal.
   */
  requested?: { cacheMiB: number; bandwidthMbps: number };
  /** Why `requested` was not applied; present exactly when `requested` is. */
  notApplied?: string;
  /** Why the app was not running at the end of the epoch (crashed, relaunch failed, ...). */
  down?: string;
  /** Observed throughput over the epoch; null when no sample arrived (a fault). */
  opsPerSec: number | null;
  /**
   * Resources actually used over the epoch, from the samples of the running app: resident
   * memory averaged over the samples, swap traffic and major faults as counter deltas over the
   * epoch. All zero, with `unsampled`, when no sample of the running app arrived.
   */
  used: {
    cacheMiB: number;
    remoteReadMbps: number;
    remoteWriteMbps: number;
    /** Major page faults per second (cgroup apps), when measured. */
    majorFaultsPerSec?: number;
  };
  /** Present (true) when no sample of the running app arrived this epoch (it was down). */
  unsampled?: true;
  /** The model's prediction for this allocation; null while the app has no model yet. */
  predictedOpsPerSec: number | null;
  /**
   * The prediction against the observation: the signed relative error (predicted - observed) /
   * observed, the band the model's uncertainty put around the prediction, and whether the
   * observation fell in it; absent without a prediction.
   */
  prediction?: {
    relativeError: number | null;
    band: [number, number] | null;
    withinBand: boolean | null;
  };
  /**
   * The model's relative uncertainty after this epoch (FitUncertainty.relative: about the
   * half-width of its 10-90 % band); absent without a fitted model.
   */
  uncertainty?: number;
  /** Why the app has no fitted model: its traffic is not measurable, or too few epochs yet. */
  modelReason?: string;
  /**
   * The policy's own allocation when an exploration probe changed what was in force (so
   * `cacheMiB`/`bandwidthMbps` show the probe); absent otherwise.
   */
  policyAllocation?: { cacheMiB: number; bandwidthMbps: number };
  /** How the exploration probe in force during this epoch concerned this app, if it did. */
  probe?: AppProbeRecord;
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

/**
 * An exploration probe as it concerned one app: the app `probed` (its `good` moved in
 * `direction`), or a neighbour `giving` to it or `taking` what it gave up; `amount` in MiB
 * (cache) or Mbps (bandwidth) for this app; `expectedLoss` the share of its throughput its model
 * (or the proportional bound, without a model) predicted it would lose.
 */
export interface AppProbeRecord {
  role: "probed" | "giving" | "taking";
  good: "cache" | "bandwidth";
  direction: "up" | "down";
  amount: number;
  expectedLoss: number;
}

/** The exploration probe in force on a node during one epoch. */
export interface NodeProbeRecord {
  app: string;
  good: "cache" | "bandwidth";
  direction: "up" | "down";
  /** MiB (cache) or Mbps (bandwidth) moved. */
  amount: number;
  /** Predicted share of throughput lost, per affected app. */
  expectedLoss: Record<string, number>;
}

/** One compute node's market outcome for one epoch. */
export interface NodeEpochRecord {
  host: string;
  /** Capacities shared on this node. */
  cacheMiB: number;
  bandwidthMbps: number;
  /** What the node's apps held in force during the epoch (never above the capacities). */
  allocated?: { cacheMiB: number; bandwidthMbps: number };
  /** Clearing prices (cache price per MiB, bandwidth price per Mbps, budget-normalised); null for policies without prices. */
  prices: { cache: number; bandwidth: number } | null;
  /** Wall time of the allocation step. */
  auctionMs: number;
  iterations?: number;
  converged?: boolean;
  /** The exploration probe in force during the epoch; null without one (absent: older runs). */
  probe?: NodeProbeRecord | null;
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
    /**
     * CPU time (user and system) the controller process spent from collect to enforce: unlike
     * the wall times, not inflated while other processes hold the CPU. Absent in older records.
     */
    cpuMs?: number;
  };
}

/** Kinds of run event. */
export const RUN_EVENT_KINDS = [
  "start",
  "stop",
  "fault",
  "restart",
  "gap",
  "warning",
  "info",
  "phase",
] as const;

/**
 * One line of events.jsonl: starts, stops, faults, restarts, gaps, warnings, phase changes.
 *
 * - A phase change of an app: `{ kind: "phase", app, host?, message, details: { to, from? } }`
 *   (`to`, `from`: the phase names, e.g. "kv", "stream"); see `phaseChangeEvent`.
 * - An app that ended: an event about the app with `details.exit` (the agent's exit: `{ code,
 *   signal }`), of kind `fault` when it crashed and `stop` when it exited by itself.
 * - `details.fault` (a short slug such as "agent-lost" or "memserver-exited") names the kind
 *   of a fault for the live metrics; without it a fault counts under its event kind.
 */
export interface RunEvent {
  time: string;
  kind: typeof RUN_EVENT_KINDS[number];
  message: string;
  host?: string;
  app?: string;
  details?: Record<string, unknown>;
}

/** What receives a run's records as they are written (see `RunWriterOptions.sinks`). */
export interface RecordSink {
  /** One epoch, after it was appended to epochs.jsonl. */
  epoch(record: EpochRecord): void;
  /** One event, after it was appended to events.jsonl. */
  event(event: RunEvent): void;
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
  /** The model the app ended with (`unknown`: kept at its equal split); absent in older runs. */
  model?: AppEpochRecord["model"];
  /** What exploration cost the app in the measured epochs; absent in older runs. */
  exploration?: ExplorationCost;
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
  /**
   * Where the apps' baselines come from: all from a measured static run (`baseline-run`), all
   * from the models' equal-split predictions (`model`: an estimate, not a measurement), some of
   * each (`mixed`), or none known (null). Absent in older runs.
   */
  baselineSource?: "baseline-run" | "model" | "mixed" | null;
  /** What exploration cost over the measured epochs (over all app epochs); absent in older runs. */
  exploration?: ExplorationCost & { probeEpochs: number };
  /** The smallest share of each good allocated on any node in a measured epoch; absent in older runs. */
  allocated?: AllocatedShare;
  /** Mean per-node auction time. */
  meanAuctionMs: number | null;
}
