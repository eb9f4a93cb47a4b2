/**
 * A run's summary as terminal text: per app its mean throughput, allocation, ratio to its
 * baseline and prediction error, then a line saying plainly where the baselines come from (a
 * measured static run, or the models' estimate of the equal split, which is not a measurement)
 * and the run's prediction error, exploration cost and allocated share. Pure.
 * @module
 */
import { formatTable } from "../../common/table.ts";
import type { AppSummary, RunSummary } from "./types.ts";

/** Throughput for a terminal table: whole ops/s, one decimal below 100 (a scan's MiB/s). */
export function formatOpsPerSec(value: number): string {
  return value.toFixed(Math.abs(value) < 100 ? 1 : 0);
}

const percent = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? "-" : `${(100 * x).toFixed(1)}%`;

function baselineCell(app: AppSummary): string {
  if (app.baselineOpsPerSec === null) return "-";
  const source = app.baselineSource === "model" ? " (model)" : "";
  return `${formatOpsPerSec(app.baselineOpsPerSec)}${source}`;
}

/** What the baseline column means, in one sentence. */
export function baselineNote(summary: RunSummary): string {
  switch (summary.baselineSource) {
    case "baseline-run":
      return summary.policy === "static"
        ? "Baseline: this run (static policy: the equal split, measured)."
        : "Baseline: a measured run of the same playbook under the static policy.";
    case "model":
      return "Baseline: the models' estimate of each app's throughput at its equal split, " +
        "not a measured static run (measure one: run with --policy static, then " +
        "`spirit report RUN_DIR --baseline STATIC_RUN_DIR`).";
    case "mixed":
      return "Baseline: measured under static for some apps, the models' estimate (model) " +
        "for the others.";
    default:
      return "Baseline: unknown for some apps (no static run and no model yet).";
  }
}

/** The summary as a table and a few lines. */
export function formatSummary(summary: RunSummary): string {
  const table = formatTable(
    ["app", "ops/s", "cache MiB", "bandwidth Mbps", "baseline ops/s", "ratio", "model", "error"],
    summary.apps.map((a) => [
      a.name,
      a.meanOpsPerSec === null ? "-" : formatOpsPerSec(a.meanOpsPerSec),
      a.meanCacheMiB.toFixed(1),
      a.meanBandwidthMbps.toFixed(1),
      baselineCell(a),
      a.ratioToBaseline === null ? "-" : `x${a.ratioToBaseline.toFixed(3)}`,
      a.model ?? "-",
      percent(a.prediction.count === 0 ? null : a.prediction.medianAbsoluteRelativeError),
    ]),
  );
  const f = summary.fairness;
  const lines = [table, baselineNote(summary)];
  if (f.geometricMeanRatio !== null && f.minRatio !== null) {
    lines.push(
      `Geometric mean x${f.geometricMeanRatio.toFixed(3)}, worst app x${f.minRatio.toFixed(3)}` +
        (summary.baselineSource === "model" ? " (against the model's estimate)." : "."),
    );
  }
  const p = summary.prediction;
  if (p.count > 0) {
    lines.push(
      `Prediction error: median ${percent(p.medianAbsoluteRelativeError)}, 90th percentile ${
        percent(p.p90AbsoluteRelativeError)
      } over ${p.count} app epochs.`,
    );
  }
  const e = summary.exploration;
  if (e !== undefined && e.probeEpochs > 0) {
    lines.push(
      `Exploration: probes in ${e.probeEpochs} of ${summary.measuredEpochs} measured epochs, ` +
        `predicted cost ${percent(e.meanExpectedLoss)} of throughput on average, ${
          percent(e.maxExpectedLoss)
        } at most in one epoch.`,
    );
  }
  const a = summary.allocated;
  if (a !== undefined && a.minCacheShare !== null && a.minBandwidthShare !== null) {
    lines.push(
      `Allocated after warm-up: at least ${percent(a.minCacheShare)} of the cache and ${
        percent(a.minBandwidthShare)
      } of the bandwidth in every epoch.`,
    );
  }
  return lines.join("\n");
}
