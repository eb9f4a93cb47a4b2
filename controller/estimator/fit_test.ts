import assert from "node:assert/strict";
import { BYTES_PER_SEC_PER_MBPS } from "../../common/units.ts";
import { buildModel, interpolate, type MrcModelSpec } from "../auction/model.ts";
import { estimateModel } from "./fit.ts";
import type { EstimatorSample } from "./types.ts";

/** Deterministic PRNG (mulberry32) with a normal helper. */
function rng(seed: number) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

const TRUE_CURVE: Array<[number, number]> = Array.from({ length: 17 }, (_, i) => {
  const c = i * 64;
  return [c, 0.4 * Math.exp(-c / 200) + 0.02];
});
const TRUE: MrcModelSpec = {
  kind: "mrc",
  missRatio: TRUE_CURVE,
  maxOpsPerSec: 40_000,
  latencyRatio: 30,
  pageBytes: 4096,
};

/** Samples at random allocations from the true model, with relative noise and outliers. */
function synthetic(
  options: { n: number; noise: number; outliers: number; seed: number; withMrc: boolean },
): EstimatorSample[] {
  const r = rng(options.seed);
  const model = buildModel(TRUE);
  const m = (c: number) => interpolate(TRUE_CURVE.map(([x]) => x), TRUE_CURVE.map(([, y]) => y), c);
  return Array.from({ length: options.n }, (_, epoch) => {
    const cacheMiB = 50 + r.uniform() * 750;
    const bandwidthMbps = 50 + r.uniform() * 950;
    const ops = model.opsPerSec(cacheMiB, bandwidthMbps);
    const traffic = Math.min(
      ops * m(cacheMiB) * 4096 * (1 + options.noise * r.normal()),
      bandwidthMbps * BYTES_PER_SEC_PER_MBPS,
    );
    const outlier = epoch % Math.floor(options.n / Math.max(1, options.outliers)) === 3 &&
      options.outliers > 0;
    const opsPerSec = ops * (1 + options.noise * r.normal()) * (outlier ? 0.15 : 1);
    return {
      epoch,
      cacheMiB,
      bandwidthMbps,
      opsPerSec,
      remoteBytesPerSec: Math.max(0, traffic),
      ...(options.withMrc ? { mrc: TRUE_CURVE } : {}),
    };
  });
}

function within(actual: number, expected: number, tolerance: number, what: string): void {
  const error = Math.abs(actual - expected) / expected;
  assert.ok(
    error <= tolerance,
    `${what}: ${actual.toFixed(3)} vs ${expected} (${(error * 100).toFixed(1)}% > ${
      tolerance * 100
    }%)`,
  );
}

Deno.test("estimateModel returns insufficient data below the minimum sample count", () => {
  const estimate = estimateModel(
    synthetic({ n: 2, noise: 0, outliers: 0, seed: 1, withMrc: true }),
  );
  assert.deepEqual(estimate, {
    status: "insufficient",
    reason: "2 usable samples, 3 needed",
    samples: 2,
  });
});

Deno.test("estimateModel ignores samples with zero or non-finite throughput", () => {
  const samples = synthetic({ n: 3, noise: 0, outliers: 0, seed: 1, withMrc: true });
  samples[0] = { ...samples[0] as EstimatorSample, opsPerSec: 0 };
  samples[1] = { ...samples[1] as EstimatorSample, remoteBytesPerSec: Number.NaN };
  assert.equal(estimateModel(samples).status, "insufficient");
});

Deno.test("estimateModel recovers max throughput, latency ratio and bytes per miss within 10/30/10 %", () => {
  // 5 % noise on throughput and traffic, 3 outliers (throughput x0.15) among 40 samples.
  for (const seed of [1, 2, 3]) {
    const estimate = estimateModel(
      synthetic({ n: 40, noise: 0.05, outliers: 3, seed, withMrc: true }),
      { window: 40 },
    );
    assert.equal(estimate.status, "model");
    if (estimate.status !== "model") return;
    within(estimate.fit.maxOpsPerSec, TRUE.maxOpsPerSec, 0.10, `max (seed ${seed})`);
    within(estimate.fit.latencyRatio, 30, 0.30, `latency ratio (seed ${seed})`);
    within(estimate.fit.bytesPerMiss, 4096, 0.10, `bytes per miss (seed ${seed})`);
    assert.equal(estimate.fit.mrcSource, "agent");
    assert.equal(estimate.fit.outliersRejected, 3, `seed ${seed}: ${JSON.stringify(estimate.fit)}`);
  }
});

Deno.test("estimateModel predictions match the true model within 10 % median error", () => {
  const estimate = estimateModel(
    synthetic({ n: 40, noise: 0.05, outliers: 3, seed: 7, withMrc: true }),
  );
  assert.equal(estimate.status, "model");
  if (estimate.status !== "model") return;
  const fitted = buildModel(estimate.spec);
  const truth = buildModel(TRUE);
  const errors: number[] = [];
  for (let c = 64; c <= 960; c += 64) {
    for (let b = 100; b <= 1000; b += 100) {
      const t = truth.opsPerSec(c, b);
      errors.push(Math.abs(fitted.opsPerSec(c, b) - t) / t);
    }
  }
  errors.sort((a, b) => a - b);
  const medianError = errors[errors.length >> 1] ?? 1;
  assert.ok(medianError <= 0.10, `median relative error ${(medianError * 100).toFixed(1)}%`);
});

Deno.test("estimateModel builds a non-increasing miss curve from traffic when the agent has none", () => {
  const samples = synthetic({ n: 40, noise: 0.05, outliers: 0, seed: 4, withMrc: false })
    .map((s) => ({ ...s, cacheMiB: [100, 200, 400, 700][s.epoch % 4] as number }))
    .map((s) => {
      // Regenerate throughput and traffic at the bucketed cache sizes.
      const ops = buildModel(TRUE).opsPerSec(s.cacheMiB, s.bandwidthMbps);
      const m = interpolate(TRUE_CURVE.map(([x]) => x), TRUE_CURVE.map(([, y]) => y), s.cacheMiB);
      const noise = 1 + 0.05 * Math.sin(s.epoch * 12.9898);
      return { ...s, opsPerSec: ops * noise, remoteBytesPerSec: ops * noise * m * 4096 };
    });
  const estimate = estimateModel(samples);
  assert.equal(estimate.status, "model");
  if (estimate.status !== "model" || estimate.spec.kind !== "mrc") return;
  assert.equal(estimate.fit.mrcSource, "observed");
  const curve = estimate.spec.missRatio;
  assert.deepEqual(curve.map(([c]) => c), [100, 200, 400, 700]);
  for (let i = 1; i < curve.length; i++) {
    assert.ok((curve[i]?.[1] ?? 1) <= (curve[i - 1]?.[1] ?? 0), "curve must not increase");
  }
  for (const [c, m] of curve) {
    const expected = interpolate(TRUE_CURVE.map(([x]) => x), TRUE_CURVE.map(([, y]) => y), c);
    within(m, expected, 0.15, `miss ratio at ${c} MiB`);
  }
});

Deno.test("estimateModel returns a constant model for an app that moves no remote memory", () => {
  const r = rng(9);
  const samples: EstimatorSample[] = Array.from({ length: 10 }, (_, epoch) => ({
    epoch,
    cacheMiB: 100 + 50 * epoch,
    bandwidthMbps: 200,
    opsPerSec: 12_000 * (1 + 0.03 * r.normal()),
    remoteBytesPerSec: 0,
  }));
  const estimate = estimateModel(samples);
  assert.equal(estimate.status, "model");
  if (estimate.status !== "model" || estimate.spec.kind !== "constant") {
    assert.fail(`expected a constant model, got ${JSON.stringify(estimate)}`);
  }
  within(estimate.spec.opsPerSec, 12_000, 0.03, "constant throughput");
});

Deno.test("estimateModel uses only the most recent window of samples", () => {
  const old = synthetic({ n: 30, noise: 0, outliers: 0, seed: 5, withMrc: true })
    .map((s) => ({ ...s, opsPerSec: s.opsPerSec / 4, remoteBytesPerSec: s.remoteBytesPerSec / 4 }));
  const recent = synthetic({ n: 12, noise: 0, outliers: 0, seed: 6, withMrc: true })
    .map((s) => ({ ...s, epoch: s.epoch + 30 }));
  const estimate = estimateModel([...old, ...recent], { window: 12 });
  assert.equal(estimate.status, "model");
  if (estimate.status !== "model") return;
  within(estimate.fit.maxOpsPerSec, TRUE.maxOpsPerSec, 0.05, "max after a phase change");
});
