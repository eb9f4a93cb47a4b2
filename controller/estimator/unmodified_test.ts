/**
 * The estimator on synthetic traces of unmodified programs: no miss-ratio curve from the
 * agent, only swap-in counters at the cache sizes exploration probed, with noise.
 */
import assert from "node:assert/strict";
import { BYTES_PER_SEC_PER_MBPS } from "../../common/units.ts";
import { seededRandom } from "../auction/generate.ts";
import { buildModel, interpolate, type MrcModelSpec } from "../auction/model.ts";
import { estimateModel } from "./fit.ts";
import type { EstimatorSample } from "./types.ts";

/** A memcached-like program: misses fall exponentially with cache, latency-sensitive. */
const CURVE: Array<[number, number]> = Array.from({ length: 25 }, (_, k) => {
  const c = 32 + k * 16;
  return [c, 0.02 + 0.5 * Math.exp(-(c - 32) / 120)];
});
const TRUTH: MrcModelSpec = {
  kind: "mrc",
  missRatio: CURVE,
  maxOpsPerSec: 60_000,
  latencyRatio: 25,
  pageBytes: 4096,
};
const missAt = (c: number) => interpolate(CURVE.map(([x]) => x), CURVE.map(([, m]) => m), c);

/** The cache sizes probed around an equal split of 192 MiB, and bandwidths around 100 Mbps. */
const PROBED_CACHE = [96, 144, 192, 240, 288];
const PROBED_BANDWIDTH = [60, 100, 140];

/**
 * Epoch samples of the true program at probed allocations: throughput with 5 % noise, swap-ins
 * (the only traffic a cgroup throttles) with 10 % noise, no curve from the agent.
 */
function trace(
  { epochs, seed, traffic = "measured" }: {
    epochs: number;
    seed: number;
    traffic?: "measured" | "unmeasurable";
  },
): EstimatorSample[] {
  const random = seededRandom(seed);
  const noise = (share: number) => 1 + share * (2 * random() - 1) * Math.sqrt(3);
  const truth = buildModel(TRUTH);
  return Array.from({ length: epochs }, (_, epoch) => {
    const cacheMiB = PROBED_CACHE[epoch % PROBED_CACHE.length] as number;
    const bandwidthMbps = PROBED_BANDWIDTH[Math.floor(epoch / 5) % 3] as number;
    const ops = truth.opsPerSec(cacheMiB, bandwidthMbps);
    const swapIn = Math.min(
      ops * missAt(cacheMiB) * 4096 * noise(0.1),
      bandwidthMbps * BYTES_PER_SEC_PER_MBPS,
    );
    const measured = traffic === "measured";
    return {
      epoch,
      cacheMiB,
      bandwidthMbps,
      opsPerSec: ops * noise(0.05),
      remoteBytesPerSec: measured ? swapIn : 0,
      swapInBytesPerSec: measured ? swapIn : 0,
      swapOutBytesPerSec: 0,
      trafficMeasured: measured,
    };
  });
}

Deno.test("estimateModel recovers an unmodified program's curve from swap-ins per op (median error 5 %, worst 20 %)", () => {
  // 20 traces of 30 epochs, six at each of five probed sizes: 100 curve points.
  const errors: number[] = [];
  for (let seed = 1; seed <= 20; seed++) {
    const estimate = estimateModel(trace({ epochs: 30, seed }));
    if (estimate.status !== "model" || estimate.spec.kind !== "mrc") {
      assert.fail(`seed ${seed}: ${JSON.stringify(estimate)}`);
    }
    assert.equal(estimate.fit.mrcSource, "observed");
    const curve = estimate.spec.missRatio;
    for (const c of PROBED_CACHE) {
      const fitted = interpolate(curve.map(([x]) => x), curve.map(([, m]) => m), c);
      errors.push(Math.abs(fitted - missAt(c)) / missAt(c));
    }
  }
  errors.sort((a, b) => a - b);
  const medianError = errors[errors.length >> 1] as number;
  const worst = errors.at(-1) as number;
  assert.ok(medianError <= 0.05, `median error ${(medianError * 100).toFixed(1)} %`);
  assert.ok(worst <= 0.2, `worst error ${(worst * 100).toFixed(1)} %`);
});

Deno.test("estimateModel predicts an unmodified program within 10 % median error where it probed", () => {
  const estimate = estimateModel(trace({ epochs: 30, seed: 4 }));
  if (estimate.status !== "model") assert.fail(JSON.stringify(estimate));
  const fitted = buildModel(estimate.spec);
  const truth = buildModel(TRUTH);
  const errors: number[] = [];
  for (let c = 96; c <= 288; c += 24) {
    for (let b = 60; b <= 140; b += 20) {
      errors.push(Math.abs(fitted.opsPerSec(c, b) / truth.opsPerSec(c, b) - 1));
    }
  }
  errors.sort((a, b) => a - b);
  const medianError = errors[errors.length >> 1] as number;
  assert.ok(medianError <= 0.1, `median error ${(medianError * 100).toFixed(1)} %`);
});

Deno.test("estimateModel says unknown, never constant, when traffic cannot be measured", () => {
  const estimate = estimateModel(trace({ epochs: 12, seed: 5, traffic: "unmeasurable" }));
  assert.equal(estimate.status, "unknown");
  if (estimate.status !== "unknown") return;
  assert.match(estimate.reason, /not measurable in 12 of 12 epochs/);
});

Deno.test("estimateModel learns from the measured epochs only, once there are enough", () => {
  const blind = trace({ epochs: 6, seed: 6, traffic: "unmeasurable" });
  const measured = trace({ epochs: 10, seed: 7 }).map((s) => ({ ...s, epoch: s.epoch + 6 }));
  const estimate = estimateModel([...blind, ...measured]);
  assert.equal(estimate.status, "model");
  if (estimate.status !== "model") return;
  assert.equal(estimate.spec.kind, "mrc");
  assert.equal(estimate.fit.samplesUsed, 10);
});

/** A CPU-bound program: swap counters measured, and almost nothing moves. */
function cpuBound(epochs: number, extra: Partial<EstimatorSample> = {}): EstimatorSample[] {
  const random = seededRandom(8);
  return Array.from({ length: epochs }, (_, epoch) => ({
    epoch,
    cacheMiB: PROBED_CACHE[epoch % PROBED_CACHE.length] as number,
    bandwidthMbps: 100,
    opsPerSec: 20_000 * (1 + 0.04 * (random() - 0.5)),
    remoteBytesPerSec: 2_000,
    swapInBytesPerSec: 2_000,
    trafficMeasured: true,
    ...extra,
  }));
}

Deno.test("estimateModel says constant when traffic is measured and negligible", () => {
  const estimate = estimateModel(cpuBound(10));
  if (estimate.status !== "model" || estimate.spec.kind !== "constant") {
    assert.fail(JSON.stringify(estimate));
  }
  assert.ok(Math.abs(estimate.spec.opsPerSec / 20_000 - 1) < 0.03);
});

Deno.test("estimateModel does not believe negligible traffic from an app that stalls on memory", () => {
  const estimate = estimateModel(cpuBound(10, { memoryStallShare: 0.3 }));
  assert.equal(estimate.status, "unknown");
  if (estimate.status !== "unknown") return;
  assert.match(estimate.reason, /stalls on memory 30%/);
});

Deno.test("estimateModel does not believe negligible traffic from an app that refaults", () => {
  const estimate = estimateModel(cpuBound(10, { refaultsPerSec: 400 }));
  assert.equal(estimate.status, "unknown");
});

Deno.test("estimateModel extends the curve beyond the largest probe with working-set activations", () => {
  // Activations say 60 % of the misses at each size would be hits with twice the memory.
  const samples = trace({ epochs: 20, seed: 9 }).map((s) => ({
    ...s,
    refaultsPerSec: s.swapInBytesPerSec as number / 4096,
    activationsPerSec: 0.6 * (s.swapInBytesPerSec as number) / 4096,
  }));
  const plain = estimateModel(trace({ epochs: 20, seed: 9 }));
  const sharpened = estimateModel(samples);
  if (plain.status !== "model" || plain.spec.kind !== "mrc") assert.fail("no plain model");
  if (sharpened.status !== "model" || sharpened.spec.kind !== "mrc") assert.fail("no model");
  const at = (curve: Array<[number, number]>, c: number) =>
    interpolate(curve.map(([x]) => x), curve.map(([, m]) => m), c);
  // Without the counters the curve stays flat beyond 288 MiB; with them it falls there.
  assert.ok(at(plain.spec.missRatio, 576) >= at(plain.spec.missRatio, 288) * 0.999);
  assert.ok(
    at(sharpened.spec.missRatio, 576) < 0.6 * at(sharpened.spec.missRatio, 288),
    JSON.stringify(sharpened.spec.missRatio),
  );
  assert.ok((sharpened.fit.refaultPoints ?? 0) > 0);
  // Where probes exist, the counters change nothing.
  assert.equal(at(sharpened.spec.missRatio, 192), at(plain.spec.missRatio, 192));
});

Deno.test("estimateModel reports an uncertainty that falls as probes cover more cache sizes", () => {
  // 13 epochs: the latest is at 192 MiB, between the probed sizes.
  const oneSize = trace({ epochs: 13, seed: 10 }).map((s) => ({ ...s, cacheMiB: 192 }));
  const narrow = estimateModel(oneSize);
  const wide = estimateModel(trace({ epochs: 13, seed: 10 }));
  if (narrow.status !== "model" || wide.status !== "model") assert.fail("no models");
  assert.equal(narrow.uncertainty.distinctCacheSizes, 1);
  assert.equal(narrow.uncertainty.unobservedSides, 2);
  assert.equal(wide.uncertainty.unobservedSides, 0);
  assert.ok(
    wide.uncertainty.relative < narrow.uncertainty.relative - 0.4,
    `${wide.uncertainty.relative} vs ${narrow.uncertainty.relative}`,
  );
  const [low, high] = wide.uncertainty.parameters.maxOpsPerSec;
  assert.ok(low <= high && low > 0, `${low}-${high}`);
});

Deno.test("estimateModel's uncertainty shrinks with more samples and is deterministic", () => {
  const few = estimateModel(trace({ epochs: 10, seed: 11 }));
  const many = estimateModel(trace({ epochs: 30, seed: 11 }));
  if (few.status !== "model" || many.status !== "model") assert.fail("no models");
  assert.ok(many.uncertainty.bootstrapSpread < few.uncertainty.bootstrapSpread);
  assert.deepEqual(estimateModel(trace({ epochs: 30, seed: 11 })), many);
});
