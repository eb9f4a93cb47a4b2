/**
 * summary.json from epoch records: per-app mean throughput and allocation, ratios to the
 * static (equal-split) baseline when known (and where that baseline comes from: a measured
 * static run, or the models' estimate), Jain's index and geometric mean of those ratios,
 * prediction error (median, 90th percentile), what exploration cost, and the smallest share of
 * each good allocated after warm-up. Pure.
 * @module
 */
import { geometricMean, jainIndex } from "../auction/fairness.ts";
import { summarisePredictionErrors } from "../estimator/prediction.ts";
import { allocatedShare } from "./allocated_share.ts";
import { explorationCost, probeEpochs } from "./exploration_cost.ts";
import type { AppEpochRecord, AppSummary, EpochRecord, RunSummary } from "./types.ts";

/** Options of {@linkcode summarise}. */
export interface SummaryOptions {
  playbook: string;
  truncated?: boolean;
  /** Measured mean throughput per app under the static policy (e.g. a baseline run's summary). */
  baselineOpsPerSec?: Record<string, number>;
}

const mean = (values: readonly number[]) =>
  values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;

/**
 * Summarises a run. Warm-up epochs are left out. The baseline of an app is, in order: the
 * given baseline run's throughput, else the mean of the model's equal-split predictions
 * recorded in the epochs, else unknown; under the `static` policy the run is its own baseline.
 */
export function summarise(records: readonly EpochRecord[], options: SummaryOptions): RunSummary {
  const measured = records.filter((r) => r.phase === "measure");
  const policy = records.at(-1)?.policy ?? "unknown";
  const names: Array<{ name: string; host: string }> = [];
  for (const r of measured) {
    for (const a of r.apps) {
      if (!names.some((n) => n.name === a.name)) names.push({ name: a.name, host: a.host });
    }
  }
  const allPredictions: Array<{ predictedOpsPerSec: number; observedOpsPerSec: number }> = [];
  const apps: AppSummary[] = names.map(({ name, host }) => {
    const rows = measured.flatMap((r) => r.apps.filter((a) => a.name === name));
    const observed = rows.flatMap((a) => (a.opsPerSec === null ? [] : [a.opsPerSec]));
    const meanOps = mean(observed);
    const predictions = rows.flatMap((a) =>
      a.predictedOpsPerSec === null || a.opsPerSec === null
        ? []
        : [{ predictedOpsPerSec: a.predictedOpsPerSec, observedOpsPerSec: a.opsPerSec }]
    );
    allPredictions.push(...predictions);
    let baseline: number | null = null;
    let baselineSource: AppSummary["baselineSource"] = null;
    const given = options.baselineOpsPerSec?.[name];
    if (given !== undefined && given > 0) {
      baseline = given;
      baselineSource = "baseline-run";
    } else if (policy === "static" && meanOps !== null) {
      baseline = meanOps;
      baselineSource = "baseline-run";
    } else {
      const modelled = mean(
        rows.flatMap((a) =>
          typeof a.equalSplitPredictedOpsPerSec === "number" ? [a.equalSplitPredictedOpsPerSec] : []
        ),
      );
      if (modelled !== null && modelled > 0) {
        baseline = modelled;
        baselineSource = "model";
      }
    }
    return {
      name,
      host,
      epochs: observed.length,
      meanOpsPerSec: meanOps,
      meanCacheMiB: mean(rows.map((a) => a.cacheMiB)) ?? 0,
      meanBandwidthMbps: mean(rows.map((a) => a.bandwidthMbps)) ?? 0,
      baselineOpsPerSec: baseline,
      baselineSource,
      ratioToBaseline: baseline !== null && meanOps !== null ? meanOps / baseline : null,
      prediction: summarisePredictionErrors(predictions),
      ...(rows.length === 0 ? {} : { model: (rows.at(-1) as AppEpochRecord).model }),
      exploration: explorationCost(rows),
    };
  });
  const sources = new Set(apps.map((a) => a.baselineSource));
  const ratios = apps.map((a) => a.ratioToBaseline);
  const known = ratios.every((r): r is number => r !== null) && ratios.length > 0
    ? ratios as number[]
    : null;
  const auctionTimes = measured.flatMap((r) => r.nodes.map((n) => n.auctionMs));
  return {
    v: 1,
    playbook: options.playbook,
    policy,
    epochs: records.length,
    measuredEpochs: measured.length,
    truncated: options.truncated ?? false,
    firstTime: records[0]?.time ?? null,
    lastTime: records.at(-1)?.time ?? null,
    apps,
    fairness: {
      jainIndexOfRatios: known === null ? null : jainIndex(known),
      geometricMeanRatio: known === null ? null : geometricMean(known),
      minRatio: known === null ? null : Math.min(...known),
    },
    prediction: summarisePredictionErrors(allPredictions),
    baselineSource: sources.size === 0 || sources.has(null)
      ? null
      : sources.size > 1
      ? "mixed"
      : [...sources][0] ?? null,
    exploration: {
      ...explorationCost(measured.flatMap((r) => r.apps)),
      probeEpochs: probeEpochs(measured),
    },
    allocated: allocatedShare(measured),
    meanAuctionMs: mean(auctionTimes),
  };
}
