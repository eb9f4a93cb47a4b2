/**
 * How sure a fitted model is: the spread of its residuals, a deterministic bootstrap of the
 * fit, and which sides of the current cache size were never observed. Pure (the bootstrap is
 * seeded by the samples, not by a clock or Math.random).
 * @module
 */
import { seededRandom } from "../auction/generate.ts";
import { buildModel, type ModelSpec } from "../auction/model.ts";
import { mad, median } from "./robust.ts";
import type { EstimatorSample, FitReport, FitUncertainty } from "./types.ts";

/** Added to the relative uncertainty per side of the current cache size never observed. */
export const UNOBSERVED_SIDE_PENALTY = 0.25;
/** z of the 10 % and 90 % quantiles of a normal distribution. */
const Z_80 = 1.2816;
/** Cache sizes closer than this (relative) count as one. */
const SAME_SIZE = 0.05;
/**
 * The neighbourhood of the allocation in force, as factors of each good: where exploration
 * probes (up to half more or a third less), so where its predictions must be good.
 */
const AROUND = [2 / 3, 1, 3 / 2];
/** Sizes within this factor of the current one count as its sides. */
const NEAR = 3 / 2;

/** A refit on a resample: its model spec and report. */
export type Refit = (samples: readonly EstimatorSample[]) => { spec: ModelSpec; fit: FitReport };

/**
 * The uncertainty of `spec`, fitted on `samples` (oldest first): residual spread on the
 * samples, and `resamples` bootstrap refits (with replacement, seeded by the samples) compared
 * at allocations around `around` (default: the latest sample's).
 */
export function fitUncertainty(
  samples: readonly EstimatorSample[],
  { spec, refit, resamples, history = samples, around = samples.at(-1) }: {
    spec: ModelSpec;
    refit: Refit;
    resamples: number;
    /** Every sample ever taken (oldest first): which cache sizes were ever observed. */
    history?: readonly EstimatorSample[];
    /** The allocation in force, around which predictions matter, and how far it can go. */
    around?:
      | { cacheMiB: number; bandwidthMbps: number; maxCacheMiB?: number; maxBandwidthMbps?: number }
      | undefined;
  },
): FitUncertainty {
  const model = buildModel(spec);
  const residuals = samples.map((s) =>
    Math.log(s.opsPerSec) - Math.log(Math.max(model.opsPerSec(s.cacheMiB, s.bandwidthMbps), 1e-9))
  );
  const residualSpread = samples.length >= 2 ? mad(residuals) : 0;
  const latest = around;
  const maxCache = around?.maxCacheMiB ?? Infinity;
  const maxBandwidth = around?.maxBandwidthMbps ?? Infinity;
  const probes = latest === undefined ? [] : AROUND.flatMap((fc) =>
    AROUND.map((fb) => ({
      cacheMiB: Math.min(maxCache, latest.cacheMiB * fc),
      bandwidthMbps: Math.min(maxBandwidth, latest.bandwidthMbps * fb),
    }))
  );
  const random = seededRandom(seedOf(samples));
  const predictions: number[][] = probes.map(() => []);
  const parameters = {
    maxOpsPerSec: [] as number[],
    latencyRatio: [] as number[],
    bytes: [] as number[],
  };
  for (let r = 0; r < resamples && samples.length >= 2; r++) {
    const resample = samples.map(() =>
      samples[Math.floor(random() * samples.length)] as EstimatorSample
    )
      .sort((a, b) => a.epoch - b.epoch);
    const { spec: s, fit } = refit(resample);
    const m = buildModel(s);
    probes.forEach((p, k) => predictions[k]?.push(m.opsPerSec(p.cacheMiB, p.bandwidthMbps)));
    parameters.maxOpsPerSec.push(fit.maxOpsPerSec);
    parameters.latencyRatio.push(fit.latencyRatio);
    parameters.bytes.push(fit.bytesPerMiss);
  }
  const halfWidths = predictions.flatMap((values) => {
    const mid = median(values);
    return values.length >= 2 && mid > 0
      ? [(quantile(values, 0.9) - quantile(values, 0.1)) / (2 * mid)]
      : [];
  });
  const bootstrapSpread = halfWidths.length === 0 ? 0 : median(halfWidths);
  const sides = latest === undefined
    ? { below: true, above: true }
    : unobserved(history, latest.cacheMiB);
  // A side beyond what the app can hold is no gap in what was learned.
  if (latest !== undefined && latest.cacheMiB * (1 + SAME_SIZE) >= maxCache) sides.above = false;
  const unobservedSides = (sides.below ? 1 : 0) + (sides.above ? 1 : 0);
  const range = (values: number[]): [number, number] =>
    values.length === 0 ? [Number.NaN, Number.NaN] : [quantile(values, 0.1), quantile(values, 0.9)];
  return {
    residualSpread,
    bootstrapSpread,
    distinctCacheSizes: distinctSizes(history.map((s) => s.cacheMiB)),
    unobserved: sides,
    unobservedSides,
    relative: Math.hypot(Z_80 * residualSpread, bootstrapSpread) +
      UNOBSERVED_SIDE_PENALTY * unobservedSides,
    parameters: {
      maxOpsPerSec: range(parameters.maxOpsPerSec),
      latencyRatio: range(parameters.latencyRatio),
      bytesPerMiss: range(parameters.bytes),
    },
  };
}

/** The `q` quantile of `values` (nearest rank). */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** A seed from the samples themselves, so the same samples always give the same bootstrap. */
function seedOf(samples: readonly EstimatorSample[]): number {
  let h = 2166136261;
  for (const s of samples) {
    h = Math.imul(h ^ s.epoch, 16777619);
    h = Math.imul(h ^ Math.round(s.cacheMiB * 16), 16777619);
  }
  return h >>> 0;
}

/** How many cache sizes, at least SAME_SIZE apart, the values hold. */
function distinctSizes(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  let count = 0;
  let last = -Infinity;
  for (const v of sorted) {
    if (v > last * (1 + SAME_SIZE) + 1e-9) {
      count++;
      last = v;
    }
  }
  return count;
}

/** Sides of `cacheMiB` (below, above, within a factor NEAR) where no sample was taken. */
function unobserved(
  samples: readonly EstimatorSample[],
  cacheMiB: number,
): { below: boolean; above: boolean } {
  const below = samples.some((s) =>
    s.cacheMiB >= cacheMiB / NEAR && s.cacheMiB < cacheMiB * (1 - SAME_SIZE)
  );
  const above = samples.some((s) =>
    s.cacheMiB > cacheMiB * (1 + SAME_SIZE) && s.cacheMiB <= cacheMiB * NEAR
  );
  return { below: !below, above: !above };
}
