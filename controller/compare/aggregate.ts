/**
 * Aggregates the runs of a comparison (one playbook, each policy repeated) into compare.json:
 * per app and policy the mean throughput over repetitions with its 95 % confidence interval
 * and its ratio to static; per policy the geometric-mean gain, the worst ratio, Jain's index,
 * sharing-incentive and envy violations, utilisation, prediction error and adaptation time.
 * Failed runs are listed with their error and the others still compared. Pure.
 * @module
 */
import { geometricMean, jainIndex } from "../auction/fairness.ts";
import { summarisePredictionErrors } from "../estimator/prediction.ts";
import type { AdaptationOptions } from "./adaptation.ts";
import { type RunData, type RunFigures, runFigures } from "./run_figures.ts";
import { ci95HalfWidth, mean } from "./stats.ts";
import type {
  AdaptationComparison,
  AppComparison,
  Comparison,
  FailedRun,
  Fractions,
  NodeComparison,
  PolicyComparison,
} from "./types.ts";

/** One run of a comparison: its data, or the error that ended it. */
export interface CompareRun {
  policy: string;
  /** Repetition index from 0. */
  repetition: number;
  runDir: string | null;
  result: { ok: true; data: RunData } | { ok: false; error: string };
}

/** Options of {@linkcode aggregateComparison}. */
export interface AggregateOptions {
  playbook: string;
  /** Policy order in compare.json (default: order of first appearance in `runs`). */
  policies?: readonly string[];
  /** An app more than this fraction below static violates sharing incentive (0.05). */
  sharingIncentiveTolerance?: number;
  /** More than this relative gain from another's bundle is envy (0.05). */
  envyTolerance?: number;
  adaptation?: AdaptationOptions;
}

const STATIC = "static";

const finite = (value: number | null | undefined): number | null =>
  value === null || value === undefined || !Number.isFinite(value) ? null : value;

function fractions(values: readonly { cache: number; bandwidth: number }[]): Fractions {
  return {
    cache: mean(values.map((v) => v.cache)),
    bandwidth: mean(values.map((v) => v.bandwidth)),
  };
}

function appOrder(figures: readonly RunFigures[]): Array<{ name: string; host: string }> {
  const apps: Array<{ name: string; host: string }> = [];
  for (const f of figures) {
    for (const a of f.summary.apps) {
      if (!apps.some((x) => x.name === a.name)) apps.push({ name: a.name, host: a.host });
    }
  }
  return apps;
}

/** Per app, the static policy's mean over repetitions of its runs' mean throughput. */
function staticMeans(figures: readonly RunFigures[]): Map<string, number> {
  const means = new Map<string, number>();
  for (const { name } of appOrder(figures)) {
    const m = mean(
      figures.flatMap((f) => f.summary.apps.find((a) => a.name === name)?.meanOpsPerSec ?? []),
    );
    if (m !== null && m > 0) means.set(name, m);
  }
  return means;
}

function appComparison(
  app: { name: string; host: string },
  figures: readonly RunFigures[],
  staticMean: number | undefined,
): AppComparison {
  const summaries = figures.flatMap((f) => f.summary.apps.filter((a) => a.name === app.name));
  const runOpsPerSec = summaries.flatMap((a) => a.meanOpsPerSec ?? []);
  const meanOps = mean(runOpsPerSec);
  const modelled = mean(
    summaries.flatMap((a) =>
      a.baselineSource === "model" && a.baselineOpsPerSec !== null ? [a.baselineOpsPerSec] : []
    ),
  );
  const [reference, ratioReference] = staticMean !== undefined
    ? [staticMean, "static" as const]
    : modelled !== null && modelled > 0
    ? [modelled, "model" as const]
    : [null, null];
  const errors = summarisePredictionErrors(
    figures.flatMap((f) => f.predictions.get(app.name) ?? []),
  );
  const adaptations = figures.flatMap((f) => f.adaptations.filter((a) => a.app === app.name));
  return {
    name: app.name,
    meanOpsPerSec: meanOps,
    ci95: ci95HalfWidth(runOpsPerSec),
    ratioToStatic: reference === null || meanOps === null ? null : meanOps / reference,
    host: app.host,
    ratioReference,
    repetitions: runOpsPerSec.length,
    runOpsPerSec,
    predictionError: errors.count === 0 ? null : errors.meanAbsoluteRelativeError,
    ...(adaptations.length === 0 ? {} : {
      adaptationSec: mean(adaptations.flatMap((a) => a.adaptationSec ?? [])),
    }),
  };
}

function nodeComparisons(figures: readonly RunFigures[]): NodeComparison[] {
  const hosts: string[] = [];
  for (const f of figures) for (const n of f.nodes) if (!hosts.includes(n.host)) hosts.push(n.host);
  return hosts.map((host) => {
    const uses = figures.flatMap((f) => f.nodes.filter((n) => n.host === host));
    return {
      host,
      utilisation: fractions(uses.map((n) => n.used)),
      allocated: fractions(uses.map((n) => n.allocated)),
    };
  });
}

function envyComparison(figures: readonly RunFigures[], tolerance: number) {
  const pairs = new Map<string, { envious: string; envied: string; ratios: number[] }>();
  for (const f of figures) {
    for (const p of f.envy.pairs) {
      const key = JSON.stringify([p.envious, p.envied]);
      const entry = pairs.get(key) ?? { envious: p.envious, envied: p.envied, ratios: [] };
      entry.ratios.push(p.ratio);
      pairs.set(key, entry);
    }
  }
  return {
    tolerance,
    meanPairsPerRun: mean(figures.map((f) => f.envy.pairs.length)),
    pairs: [...pairs.values()].map((p) => ({
      envious: p.envious,
      envied: p.envied,
      runs: p.ratios.length,
      meanRatio: mean(p.ratios) as number,
    })),
    unevaluated: [...new Set(figures.flatMap((f) => f.envy.unevaluated))],
  };
}

function adaptationComparison(figures: readonly RunFigures[]): AdaptationComparison | null {
  const all = figures.flatMap((f) => f.adaptations);
  if (all.length === 0) return null;
  const settled = all.filter((a) => a.adaptationSec !== null);
  const seconds = settled.map((a) => a.adaptationSec as number);
  const epochs = settled.map((a) => a.adaptationEpochs as number);
  return {
    changes: all.length,
    settled: settled.length,
    meanSec: mean(seconds),
    maxSec: seconds.length === 0 ? null : Math.max(...seconds),
    meanEpochs: mean(epochs),
    maxEpochs: epochs.length === 0 ? null : Math.max(...epochs),
  };
}

function policyComparison(
  policy: string,
  runs: readonly CompareRun[],
  reference: Map<string, number>,
  options: AggregateOptions,
  figuresOf: (run: RunData) => RunFigures,
): PolicyComparison {
  const ordered = [...runs].sort((a, b) => a.repetition - b.repetition);
  const figures = ordered.flatMap((r) => r.result.ok ? [figuresOf(r.result.data)] : []);
  const failures: FailedRun[] = ordered.flatMap((r) =>
    r.result.ok ? [] : [{ repetition: r.repetition, runDir: r.runDir, error: r.result.error }]
  );
  const apps = appOrder(figures).map((app) => appComparison(app, figures, reference.get(app.name)));
  const ratios = apps.map((a) => a.ratioToStatic);
  const known = ratios.length > 0 && ratios.every((r): r is number => r !== null)
    ? ratios as number[]
    : null;
  const siTolerance = options.sharingIncentiveTolerance ?? 0.05;
  const errors = summarisePredictionErrors(
    figures.flatMap((f) => [...f.predictions.values()].flat()),
  );
  const adaptation = adaptationComparison(figures);
  return {
    policy,
    runs: figures.map((f) => f.runDir),
    apps,
    geoMeanGain: known === null ? null : geometricMean(known),
    minRatio: known === null ? null : Math.min(...known),
    utilisation: fractions(figures.map((f) => f.used)),
    ...(adaptation === null ? {} : { adaptationSec: adaptation.meanSec }),
    jainIndex: known === null ? null : jainIndex(known),
    allocated: fractions(figures.map((f) => f.allocated)),
    nodes: nodeComparisons(figures),
    sharingIncentive: {
      tolerance: siTolerance,
      violations: apps.filter((a) => a.ratioToStatic !== null && a.ratioToStatic < 1 - siTolerance)
        .map((a) => a.name),
    },
    envy: envyComparison(figures, options.envyTolerance ?? 0.05),
    predictionError: {
      count: errors.count,
      meanAbsoluteRelativeError: finite(errors.meanAbsoluteRelativeError),
      meanRelativeBias: finite(errors.meanRelativeBias),
    },
    ...(adaptation === null ? {} : { adaptation }),
    repetitions: figures.length,
    failures,
  };
}

/**
 * compare.json from the runs of a comparison. Ratios are to the static policy's measured
 * means when static is among the policies and has a finished run with the app, else to the
 * model's equal-split prediction (each app's `ratioReference` says which).
 */
export function aggregateComparison(
  runs: readonly CompareRun[],
  options: AggregateOptions,
): Comparison {
  const order = [...(options.policies ?? [])];
  for (const r of runs) if (!order.includes(r.policy)) order.push(r.policy);
  const cache = new Map<RunData, RunFigures>();
  const figuresOf = (data: RunData) => {
    let figures = cache.get(data);
    if (figures === undefined) {
      figures = runFigures(data, {
        ...(options.envyTolerance === undefined ? {} : { envyTolerance: options.envyTolerance }),
        ...(options.adaptation === undefined ? {} : { adaptation: options.adaptation }),
      });
      cache.set(data, figures);
    }
    return figures;
  };
  const staticFigures = runs.flatMap((r) =>
    r.policy === STATIC && r.result.ok ? [figuresOf(r.result.data)] : []
  );
  const reference = staticMeans(staticFigures);
  return {
    playbook: options.playbook,
    policies: order.map((policy) =>
      policyComparison(
        policy,
        runs.filter((r) => r.policy === policy),
        reference,
        options,
        figuresOf,
      )
    ),
  };
}
