import assert from "node:assert/strict";
import { buildModel } from "../auction/model.ts";
import { estimateModel } from "./fit.ts";
import type { EstimatorSample } from "./types.ts";

// A streaming app: its miss-ratio curve is flat, yet with a tiny cache it moves 20 % more
// bytes per op (write-back and prefetch need room). Bandwidth-bound at 40 Mbps.
function streamSample(epoch: number, cacheMiB: number): EstimatorSample {
  const bytesPerOp = cacheMiB < 8 ? 28.8 : 24;
  const remoteBytesPerSec = 40 * 125_000;
  return {
    epoch,
    cacheMiB,
    bandwidthMbps: 40,
    opsPerSec: remoteBytesPerSec / bytesPerOp,
    remoteBytesPerSec,
    mrc: [[1, 0.95], [192, 0.95]],
  };
}

Deno.test("estimateModel rescales a flat curve by the traffic observed at each cache size", () => {
  const samples = [2, 2, 2, 32, 32, 32].map((c, k) => streamSample(k, c));
  const estimate = estimateModel(samples);
  if (estimate.status !== "model") throw new Error(estimate.reason);
  const model = buildModel(estimate.spec);
  const small = model.opsPerSec(2, 40);
  const large = model.opsPerSec(32, 40);
  assert.ok(Math.abs(large / small - 1.2) < 0.03, `large/small ${large / small}`);
  assert.ok(Math.abs(large - 40 * 125_000 / 24) / large < 0.03, `large ${large}`);
});

Deno.test("estimateModel keeps the agent's curve when traffic per miss agrees at every size", () => {
  const samples = [2, 2, 32, 32].map((c, k) => ({
    ...streamSample(k, c),
    opsPerSec: 40 * 125_000 / 24,
  }));
  const estimate = estimateModel(samples);
  if (estimate.status !== "model" || estimate.spec.kind !== "mrc") throw new Error("no mrc model");
  assert.deepEqual(estimate.spec.missRatio, [[1, 0.95], [192, 0.95]]);
});
