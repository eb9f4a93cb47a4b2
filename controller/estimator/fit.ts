/**
 * The estimator: from one app's recent samples, fits an `mrc` performance model (or
 * `constant` for apps measured to move negligible remote traffic, or says `unknown` when the
 * traffic cannot be measured) for the auction, with an uncertainty. Pure.
 *
 * Model (controller/auction/model.ts): f(c, b) = min(b / (bytesPerMiss * m(c)), max / (1 + L * m(c)))
 * with m the misses per operation at cache c. The fit:
 * 1. Keep the last `window` valid samples; with fewer than `minSamples`, return "insufficient"
 *    (the caller keeps the equal split). Without an agent curve, samples whose traffic was not
 *    measurable cannot teach a curve: with enough of them the app is "unknown".
 * 2. Negligible measured misses per op make a `constant` model, unless the kernel contradicts
 *    it (the app stalls on memory, or refaults, more than negligible traffic explains): then
 *    the traffic measurement is not believed and the app is "unknown".
 * 3. m(c): the agent's latest miss-ratio curve (far-memory client or PEBS) when present;
 *    otherwise misses per op observed at each probed size (curve.ts), sharpened by working-set
 *    counters beyond the largest size probed.
 * 4. bytesPerMiss: the median of remote bytes / (ops * m(c)) over the samples (page size when
 *    the curve was observed, since then it is the unit of m).
 * 5. max and L from samples that were not bandwidth-bound (traffic below `boundFraction` of the
 *    allocation): 1/ops = 1/max + (L/max) m is a line in m, fitted by Theil-Sen. With one cache
 *    size only, L = 0 and max = median throughput; with only bandwidth-bound samples, max is
 *    twice the best throughput seen (optimistic, so the market tries more bandwidth).
 * 6. Outliers: samples whose log throughput is more than `outlierThreshold` MADs from the
 *    first fit's prediction are dropped and the fit repeated.
 * 7. Uncertainty (uncertainty.ts): residual spread, a seeded bootstrap of steps 3-5, and the
 *    sides of the current cache size never observed.
 * @module
 */
import {
  buildModel,
  type ConstantModelSpec,
  interpolate,
  type MrcModelSpec,
} from "../auction/model.ts";
import { calibrateCurve, LOG_NOISE, normaliseCurve, observedCurve } from "./curve.ts";
import { inlierIndices, median, theilSen } from "./robust.ts";
import { bytesPerSecOfMbps } from "../auction/units.ts";
import type { Estimate, EstimatorOptions, EstimatorSample, FitReport } from "./types.ts";
import { fitUncertainty } from "./uncertainty.ts";

/** The options with every default filled in (`around` stays optional). */
type Options = Required<Omit<EstimatorOptions, "around">> & Pick<EstimatorOptions, "around">;

const DEFAULTS: Options = {
  minSamples: 3,
  window: 30,
  outlierThreshold: 3.5,
  boundFraction: 0.85,
  pageBytes: 4096,
  constantMissRatio: 0.002,
  stallShareForTraffic: 0.05,
  bootstrapSamples: 24,
};

/** Quantile of unconstrained throughput taken as an app's cap. */
const CAP_QUANTILE = 0.9;
/** Cap assumed, relative to the best throughput seen, while no cap has been observed. */
const UNSEEN_CAP_FACTOR = 2;
/** Smallest share of an op's time spent locally, when the data cannot tell it from zero. */
const MIN_LOCAL_SHARE = 0.05;
/** Samples needed before any is rejected as an outlier. */
const MIN_SAMPLES_FOR_OUTLIERS = 6;

/** A fitted model before its uncertainty is known. */
type Fitted = { spec: MrcModelSpec | ConstantModelSpec; fit: FitReport };

/**
 * Fits one app's performance model from its samples (oldest first).
 * @example estimateModel(samples).status === "model" ? buildModel(e.spec) : equalSplit
 */
export function estimateModel(
  samples: readonly EstimatorSample[],
  options: EstimatorOptions = {},
): Estimate {
  const o = { ...DEFAULTS, ...options };
  const everValid = samples.filter(isValid);
  const usable = everValid.slice(-o.window);
  const agentMrc = [...usable].reverse().find((s) => (s.mrc?.length ?? 0) > 0)?.mrc;
  // Without a curve from the agent, only epochs whose traffic was measured teach the model.
  const valid = agentMrc === undefined ? usable.filter((s) => s.trafficMeasured !== false) : usable;
  const blind = usable.length - valid.length;
  if (valid.length < o.minSamples) {
    if (blind >= o.minSamples) {
      return {
        status: "unknown",
        reason: `remote traffic not measurable in ${blind} of ${usable.length} epochs`,
        samples: usable.length,
      };
    }
    return {
      status: "insufficient",
      reason: `${valid.length} usable sample${
        valid.length === 1 ? "" : "s"
      }, ${o.minSamples} needed`,
      samples: valid.length,
    };
  }
  const observedMiss = valid.map((s) => s.remoteBytesPerSec / (s.opsPerSec * o.pageBytes));
  const history = everValid.filter((s) => s.trafficMeasured !== false || agentMrc !== undefined);
  if (agentMrc === undefined && median(observedMiss) < o.constantMissRatio) {
    const doubt = contradiction(valid, o);
    if (doubt !== null) return { status: "unknown", reason: doubt, samples: valid.length };
    return withUncertainty(valid, fitConstant(valid, o), {
      o,
      history,
      refit: (resample) => fitConstant(resample, o),
    });
  }
  const refit = (resample: readonly EstimatorSample[]) => fitOnce(resample, agentMrc, o);
  const first = fitOnce(valid, agentMrc, o);
  // Outliers are judged only with enough samples to tell them from a trend.
  if (valid.length < MIN_SAMPLES_FOR_OUTLIERS) {
    return withUncertainty(valid, first, { o, refit, history });
  }
  const model = buildModel(first.spec);
  const residuals = valid.map((s) =>
    Math.log(s.opsPerSec) - Math.log(Math.max(model.opsPerSec(s.cacheMiB, s.bandwidthMbps), 1e-9))
  );
  const kept = inlierIndices(residuals, o.outlierThreshold, { minSpread: LOG_NOISE });
  if (kept.length === valid.length || kept.length < o.minSamples) {
    return withUncertainty(valid, first, { o, refit, history });
  }
  const inliers = kept.map((i) => valid[i] as EstimatorSample);
  const second = fitOnce(inliers, agentMrc, o);
  return withUncertainty(inliers, {
    ...second,
    fit: { ...second.fit, outliersRejected: valid.length - kept.length },
  }, { o, refit, history });
}

function withUncertainty(
  samples: readonly EstimatorSample[],
  fitted: Fitted,
  { o, refit, history }: {
    o: Options;
    refit: (s: readonly EstimatorSample[]) => Fitted;
    /** Every valid sample so far, beyond the window: which sizes were ever observed. */
    history: readonly EstimatorSample[];
  },
): Estimate {
  return {
    status: "model",
    spec: fitted.spec,
    fit: fitted.fit,
    uncertainty: fitUncertainty(samples, {
      spec: fitted.spec,
      refit,
      resamples: o.bootstrapSamples,
      history,
      around: o.around,
    }),
  };
}

/**
 * Why negligible measured traffic is not believed, or null: the app stalls on memory more than
 * `stallShareForTraffic` of the time, or refaults more pages per op than the traffic carries.
 */
function contradiction(
  samples: readonly EstimatorSample[],
  o: Options,
): string | null {
  const stalls = samples.flatMap((s) =>
    s.memoryStallShare === undefined ? [] : [s.memoryStallShare]
  );
  if (stalls.length > 0 && median(stalls) > o.stallShareForTraffic) {
    return `stalls on memory ${(median(stalls) * 100).toFixed(0)}% of the time, yet almost no ` +
      `remote traffic was measured`;
  }
  const refaults = samples.flatMap((s) =>
    s.refaultsPerSec === undefined ? [] : [s.refaultsPerSec / s.opsPerSec]
  );
  if (refaults.length > 0 && median(refaults) > o.constantMissRatio) {
    return `refaults ${median(refaults).toFixed(3)} pages per op, yet almost no remote traffic ` +
      `was measured`;
  }
  return null;
}

/** A constant model: the robust median throughput. */
function fitConstant(samples: readonly EstimatorSample[], o: Options): Fitted {
  const ops = samples.map((s) => s.opsPerSec);
  const kept = inlierIndices(ops.map(Math.log), o.outlierThreshold, { minSpread: LOG_NOISE });
  const opsPerSec = median(kept.map((i) => ops[i] as number));
  return {
    spec: { kind: "constant", opsPerSec },
    fit: {
      samplesUsed: kept.length,
      outliersRejected: samples.length - kept.length,
      mrcSource: "none",
      maxOpsPerSec: opsPerSec,
      latencyRatio: 0,
      bytesPerMiss: 0,
    },
  };
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function isValid(s: EstimatorSample): boolean {
  return [s.cacheMiB, s.bandwidthMbps, s.opsPerSec, s.remoteBytesPerSec].every(Number.isFinite) &&
    s.opsPerSec > 0 && s.cacheMiB >= 0 && s.bandwidthMbps > 0 && s.remoteBytesPerSec >= 0;
}

function fitOnce(
  samples: readonly EstimatorSample[],
  agentMrc: EstimatorSample["mrc"],
  o: Options,
): Fitted {
  const observed = agentMrc === undefined ? observedCurve(samples, o.pageBytes) : null;
  const calibrated = observed === null
    ? calibrateCurve(normaliseCurve(agentMrc ?? []), samples, o)
    : { curve: observed.curve, bytesPerMiss: o.pageBytes };
  const missRatio = calibrated.curve;
  const bytesPerMiss = calibrated.bytesPerMiss;
  const cache = missRatio.map(([c]) => c);
  const ratio = missRatio.map(([, m]) => m);
  const m = samples.map((s) => interpolate(cache, ratio, s.cacheMiB));

  const free = samples.flatMap((s, i) =>
    s.remoteBytesPerSec < o.boundFraction * bytesPerSecOfMbps(s.bandwidthMbps)
      ? [{ ops: s.opsPerSec, m: m[i] as number }]
      : []
  );
  let maxOpsPerSec: number;
  let latencyRatio = 0;
  const spread = free.length === 0
    ? 0
    : Math.max(...free.map((p) => p.m)) - Math.min(...free.map((p) => p.m));
  if (free.length >= 2 && spread > 1e-3) {
    const xs = free.map((p) => p.m);
    const ys = free.map((p) => 1 / p.ops);
    const line = theilSen(xs, ys);
    if (line.intercept > 0 && line.slope > 0) {
      maxOpsPerSec = 1 / line.intercept;
      latencyRatio = line.slope / line.intercept;
    } else if (line.slope > 0) {
      // Time per op is (almost) all remote latency: the intercept (time per op without misses)
      // drowns in noise. Take it as a small share of the fastest op and refit the slope.
      const intercept = MIN_LOCAL_SHARE * Math.min(...ys);
      const slope = median(xs.map((x, i) => ((ys[i] as number) - intercept) / x));
      maxOpsPerSec = 1 / intercept;
      latencyRatio = slope / intercept;
    } else {
      // More cache does not help when unconstrained: a cap. Contention only ever slows an app
      // down, so the cap is a high quantile of what it reached, not the median.
      maxOpsPerSec = quantile(free.map((p) => p.ops), CAP_QUANTILE);
    }
  } else {
    // No cap seen yet (one cache size observed, or always bandwidth-bound): taking the current
    // throughput as the cap would make the model deny any gain from more cache or bandwidth
    // and keep the app where it is. Until the data shows a cap, assume twice the best seen.
    maxOpsPerSec = UNSEEN_CAP_FACTOR * Math.max(...samples.map((s) => s.opsPerSec));
  }

  // A model never caps an app below throughput it was seen to reach.
  maxOpsPerSec = Math.max(maxOpsPerSec, ...samples.map((s) => s.opsPerSec));
  const spec: MrcModelSpec = {
    kind: "mrc",
    missRatio,
    maxOpsPerSec,
    latencyRatio,
    pageBytes: bytesPerMiss,
  };
  const fit: FitReport = {
    samplesUsed: samples.length,
    outliersRejected: 0,
    mrcSource: agentMrc === undefined ? "observed" : "agent",
    maxOpsPerSec,
    latencyRatio,
    bytesPerMiss,
  };
  if (observed !== null && observed.refaultPoints > 0) fit.refaultPoints = observed.refaultPoints;
  return { spec, fit };
}
