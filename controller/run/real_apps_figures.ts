/**
 * The figures of `spirit bench real-apps` from its runs (static against symbiosis, same
 * playbook, interleaved rounds): per program the throughput under each policy and their ratio
 * (pooled over the rounds, with the spread of the rounds), the geometric-mean gain and the worst
 * ratio, the smallest allocated share of each good after warm-up, the prediction error, and
 * whether each of the targets is met. Pure.
 * @module
 */
import { formatTable } from "../../common/table.ts";
import { summarisePredictionErrors } from "../estimator/prediction.ts";
import type { EpochRecord, RunSummary } from "../results/types.ts";
import { policyGain } from "./policy_gain.ts";

/** The targets for unmodified programs on this machine. */
export const REAL_APPS_TARGETS = {
  geoMeanGain: 1.05,
  minRatio: 0.95,
  allocatedShare: 0.99,
  medianPredictionError: 0.15,
} as const;

/** One finished run of the bench. */
export interface BenchRun {
  runDir: string;
  summary: RunSummary;
  records: EpochRecord[];
  /** The machine's 1-minute load average when the run started and when it ended. */
  loadAverage: [number, number];
}

/** One round: the same playbook under static and under symbiosis. */
export interface BenchRound {
  static: BenchRun;
  symbiosis: BenchRun;
}

/** A figure pooled over the rounds, with the rounds' range. */
export interface Spread {
  pooled: number;
  min: number;
  max: number;
}

/** One target: the figure, the bar and whether it is met. */
export interface TargetCheck {
  value: number | null;
  bar: number;
  met: boolean;
}

/** The figures of one playbook. */
export interface PlaybookFigures {
  playbook: string;
  rounds: Array<{
    staticRunDir: string;
    symbiosisRunDir: string;
    geoMeanGain: number;
    minRatio: number;
    loadAverage: [number, number];
  }>;
  apps: Array<{
    name: string;
    /** Mean throughput under static and symbiosis: pooled (mean of the rounds' means) and range. */
    staticOpsPerSec: Spread;
    symbiosisOpsPerSec: Spread;
    /** Pooled: symbiosis pooled over static pooled; range: the rounds' ratios. */
    ratio: Spread;
    /** Mean allocation under symbiosis (pooled). */
    symbiosisCacheMiB: number;
    symbiosisBandwidthMbps: number;
    /** The model the program ended with in the last symbiosis run. */
    model: string | null;
    /** Median absolute prediction error of its symbiosis epochs. */
    medianPredictionError: number | null;
  }>;
  geoMeanGain: Spread;
  minRatio: Spread;
  /** Smallest share of each good allocated on the node in a measured symbiosis epoch. */
  minAllocatedShare: { cache: number | null; bandwidth: number | null };
  /** Over every app epoch of the symbiosis runs with a prediction. */
  prediction: { count: number; median: number | null; p90: number | null };
  /** The predicted share of throughput exploration cost (mean over symbiosis app epochs). */
  explorationCost: number | null;
  targets: {
    geoMeanGain: TargetCheck;
    minRatio: TargetCheck;
    allocatedShare: TargetCheck;
    medianPredictionError: TargetCheck;
  };
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function spread(pooled: number, values: readonly number[]): Spread {
  return { pooled, min: Math.min(...values), max: Math.max(...values) };
}

function geometricMean(values: readonly number[]): number {
  return Math.exp(mean(values.map(Math.log)));
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** The figures of `playbook` from its rounds (at least one). */
export function playbookFigures(playbook: string, rounds: readonly BenchRound[]): PlaybookFigures {
  if (rounds.length === 0) throw new RangeError(`No rounds of ${playbook} to summarise`);
  const gains = rounds.map((r) => policyGain(r.static.summary, r.symbiosis.summary));
  const names = gains[0]?.apps.map((a) => a.name) ?? [];
  const apps = names.map((name) => {
    const of = (i: number) => gains[i]?.apps.find((a) => a.name === name);
    const rows = rounds.map((_, i) => of(i)).filter((a) => a !== undefined);
    const staticOps = rows.map((a) => a.baselineOpsPerSec);
    const symbiosisOps = rows.map((a) => a.opsPerSec);
    const pooledStatic = mean(staticOps);
    const pooledSymbiosis = mean(symbiosisOps);
    const errors = rounds.flatMap((r) => predictionPoints(r.symbiosis.records, name));
    const last = rounds.at(-1)?.symbiosis.summary.apps.find((a) => a.name === name);
    const error = summarisePredictionErrors(errors);
    return {
      name,
      staticOpsPerSec: spread(pooledStatic, staticOps),
      symbiosisOpsPerSec: spread(pooledSymbiosis, symbiosisOps),
      ratio: spread(pooledSymbiosis / pooledStatic, rows.map((a) => a.ratio)),
      symbiosisCacheMiB: mean(rows.map((a) => a.cacheMiB)),
      symbiosisBandwidthMbps: mean(rows.map((a) => a.bandwidthMbps)),
      model: last?.model ?? null,
      medianPredictionError: error.count === 0 ? null : error.medianAbsoluteRelativeError,
    };
  });
  const pooledRatios = apps.map((a) => a.ratio.pooled);
  const geoMeanGain = spread(geometricMean(pooledRatios), gains.map((g) => g.geometricMeanRatio));
  const minRatio = spread(Math.min(...pooledRatios), gains.map((g) => g.minRatio));
  const shares = rounds.map((r) => r.symbiosis.summary.allocated);
  const least = (read: (s: NonNullable<RunSummary["allocated"]>) => number | null) => {
    const values = shares.flatMap((s) => s === undefined || read(s) === null ? [] : [read(s)]);
    return values.length === 0 ? null : Math.min(...values as number[]);
  };
  const minAllocatedShare = {
    cache: least((s) => s.minCacheShare),
    bandwidth: least((s) => s.minBandwidthShare),
  };
  const all = summarisePredictionErrors(
    rounds.flatMap((r) => names.flatMap((name) => predictionPoints(r.symbiosis.records, name))),
  );
  const prediction = {
    count: all.count,
    median: all.count === 0 ? null : all.medianAbsoluteRelativeError,
    p90: all.count === 0 ? null : all.p90AbsoluteRelativeError,
  };
  const costs = rounds.flatMap((r) =>
    r.symbiosis.summary.exploration === undefined ? [] : [r.symbiosis.summary.exploration]
  );
  const allocated = minAllocatedShare.cache === null || minAllocatedShare.bandwidth === null
    ? null
    : Math.min(minAllocatedShare.cache, minAllocatedShare.bandwidth);
  const check = (value: number | null, bar: number, atLeast: boolean): TargetCheck => ({
    value,
    bar,
    met: value !== null && (atLeast ? value >= bar : value <= bar),
  });
  return {
    playbook,
    rounds: rounds.map((r, i) => ({
      staticRunDir: r.static.runDir,
      symbiosisRunDir: r.symbiosis.runDir,
      geoMeanGain: gains[i]?.geometricMeanRatio ?? Number.NaN,
      minRatio: gains[i]?.minRatio ?? Number.NaN,
      loadAverage: [
        Math.min(r.static.loadAverage[0], r.symbiosis.loadAverage[0]),
        Math.max(r.static.loadAverage[1], r.symbiosis.loadAverage[1]),
      ],
    })),
    apps,
    geoMeanGain,
    minRatio,
    minAllocatedShare,
    prediction,
    explorationCost: costs.length === 0 ? null : mean(costs.map((c) => c.meanExpectedLoss)),
    targets: {
      geoMeanGain: check(finite(geoMeanGain.pooled), REAL_APPS_TARGETS.geoMeanGain, true),
      minRatio: check(finite(minRatio.pooled), REAL_APPS_TARGETS.minRatio, true),
      allocatedShare: check(allocated, REAL_APPS_TARGETS.allocatedShare, true),
      medianPredictionError: check(
        prediction.median,
        REAL_APPS_TARGETS.medianPredictionError,
        false,
      ),
    },
  };
}

/** The measured epochs of `app` with a prediction and an observation. */
function predictionPoints(records: readonly EpochRecord[], app: string) {
  return records.filter((r) => r.phase === "measure").flatMap((r) =>
    r.apps.flatMap((a) =>
      a.name === app && a.predictedOpsPerSec !== null && a.opsPerSec !== null
        ? [{ predictedOpsPerSec: a.predictedOpsPerSec, observedOpsPerSec: a.opsPerSec }]
        : []
    )
  );
}

const fixed = (x: number | null, digits = 3) => x === null ? "-" : x.toFixed(digits);
const percent = (x: number | null) => x === null ? "-" : `${(100 * x).toFixed(1)}%`;
const range = (s: Spread, digits: number) =>
  s.min === s.max ? "" : ` (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;

/** The figures of one playbook as text. */
export function formatPlaybookFigures(f: PlaybookFigures): string {
  const opsDigits = (x: number) => x >= 100 ? 0 : 1;
  const table = formatTable(
    [
      "program",
      "static ops/s",
      "symbiosis ops/s",
      "ratio",
      "cache MiB",
      "bandwidth Mbps",
      "model",
      "error",
    ],
    f.apps.map((a) => [
      a.name,
      `${a.staticOpsPerSec.pooled.toFixed(opsDigits(a.staticOpsPerSec.pooled))}${
        range(a.staticOpsPerSec, opsDigits(a.staticOpsPerSec.pooled))
      }`,
      `${a.symbiosisOpsPerSec.pooled.toFixed(opsDigits(a.symbiosisOpsPerSec.pooled))}${
        range(a.symbiosisOpsPerSec, opsDigits(a.symbiosisOpsPerSec.pooled))
      }`,
      `x${a.ratio.pooled.toFixed(3)}${range(a.ratio, 2)}`,
      a.symbiosisCacheMiB.toFixed(0),
      a.symbiosisBandwidthMbps.toFixed(0),
      a.model ?? "-",
      percent(a.medianPredictionError),
    ]),
  );
  const t = f.targets;
  const verdict = (c: TargetCheck) => c.met ? "met" : "NOT met";
  const loads = f.rounds.map((r) =>
    `${r.loadAverage[0].toFixed(1)}-${r.loadAverage[1].toFixed(1)}`
  );
  return [
    `${f.playbook}: ${f.rounds.length} round${f.rounds.length === 1 ? "" : "s"} of static then ` +
    `symbiosis (1-min load average per round: ${loads.join(", ")})`,
    table,
    `geometric-mean gain x${fixed(f.geoMeanGain.pooled)}${range(f.geoMeanGain, 3)}: ` +
    `${verdict(t.geoMeanGain)} (bar x${t.geoMeanGain.bar})`,
    `worst program x${fixed(f.minRatio.pooled)}${range(f.minRatio, 3)}: ${verdict(t.minRatio)} ` +
    `(bar x${t.minRatio.bar})`,
    `least allocated after warm-up: cache ${percent(f.minAllocatedShare.cache)}, bandwidth ${
      percent(f.minAllocatedShare.bandwidth)
    }: ${verdict(t.allocatedShare)} (bar ${percent(t.allocatedShare.bar)})`,
    `prediction error: median ${percent(f.prediction.median)}, 90th percentile ${
      percent(f.prediction.p90)
    } over ${f.prediction.count} app epochs: ${verdict(t.medianPredictionError)} (bar ${
      percent(t.medianPredictionError.bar)
    })`,
    `exploration cost (predicted): ${percent(f.explorationCost)} of throughput on average`,
  ].join("\n");
}
