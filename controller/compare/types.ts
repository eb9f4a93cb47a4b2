/**
 * compare.json: a playbook run once per policy and repetition, aggregated. docs/compare.md
 * defines every statistic. Pure types.
 * @module
 */

/** One app under one policy, over its repetitions. */
export interface AppComparison {
  name: string;
  /** Mean over repetitions of the run's mean throughput (measured epochs). */
  meanOpsPerSec: number | null;
  /** Half-width of the 95 % confidence interval of that mean (Student t); null below 2 runs. */
  ci95: number | null;
  /** meanOpsPerSec / the reference's mean (see `ratioReference`). */
  ratioToStatic: number | null;
  host: string;
  /** `static`: the static policy's measured mean; `model`: the model's equal-split prediction. */
  ratioReference: "static" | "model" | null;
  /** Runs in which the app had a throughput sample. */
  repetitions: number;
  /** Each such run's mean throughput, in run order. */
  runOpsPerSec: number[];
  /** Mean absolute relative prediction error over all measured epochs of all runs. */
  predictionError: number | null;
  /** Mean adaptation time over the app's settled phase changes; absent without phase changes. */
  adaptationSec?: number | null;
}

/** Fractions of capacity, per resource. */
export interface Fractions {
  cache: number | null;
  bandwidth: number | null;
}

/** One node under one policy, averaged over the measured epochs of every run. */
export interface NodeComparison {
  host: string;
  /** Used by the apps (resident cache; remote read + write traffic) / capacity. */
  utilisation: Fractions;
  /** Allocated to the apps / capacity. */
  allocated: Fractions;
}

/** A run of the comparison that failed, and why. */
export interface FailedRun {
  repetition: number;
  /** The run directory, when the run got as far as creating one. */
  runDir: string | null;
  error: string;
}

/** Adaptation to phase changes, over every phase change of every run. */
export interface AdaptationComparison {
  changes: number;
  settled: number;
  meanSec: number | null;
  maxSec: number | null;
  meanEpochs: number | null;
  maxEpochs: number | null;
}

/** One policy over its repetitions. */
export interface PolicyComparison {
  policy: string;
  /** Run directories of the runs that finished, in repetition order. */
  runs: string[];
  apps: AppComparison[];
  /** Geometric mean over apps of ratioToStatic (1.06 = 6 % gain); null if any ratio is unknown. */
  geoMeanGain: number | null;
  /** The worst app's ratioToStatic. */
  minRatio: number | null;
  /** Mean used fraction of capacity over all nodes (capacity-weighted) and runs. */
  utilisation: Fractions;
  /** Mean adaptation time over the settled phase changes; present when the playbook changes phase. */
  adaptationSec?: number | null;
  /** Jain's index of the apps' ratioToStatic. */
  jainIndex: number | null;
  /** Mean allocated fraction of capacity over all nodes (capacity-weighted) and runs. */
  allocated: Fractions;
  nodes: NodeComparison[];
  /** Apps whose ratioToStatic is below 1 - tolerance. */
  sharingIncentive: { tolerance: number; violations: string[] };
  /** Envy evaluated with each app's fitted model on the mean bundles held (see docs). */
  envy: {
    tolerance: number;
    /** Mean number of envious pairs per run. */
    meanPairsPerRun: number | null;
    pairs: Array<{ envious: string; envied: string; runs: number; meanRatio: number }>;
    /** Apps left out in some run for want of a fitted model. */
    unevaluated: string[];
  };
  /** Over every prediction of every measured epoch of every run. */
  predictionError: {
    count: number;
    meanAbsoluteRelativeError: number | null;
    meanRelativeBias: number | null;
  };
  adaptation?: AdaptationComparison;
  /** Runs that finished. */
  repetitions: number;
  failures: FailedRun[];
}

/** compare.json. */
export interface Comparison {
  playbook: string;
  policies: PolicyComparison[];
}
