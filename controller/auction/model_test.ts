import assert from "node:assert/strict";
import { buildModel, interpolate } from "./model.ts";

Deno.test("mrc model follows the bandwidth-bound and latency-bound formula", () => {
  const model = buildModel({
    kind: "mrc",
    missRatio: [[256, 0.8], [1024, 0.2]],
    maxOpsPerSec: 1e6,
    latencyRatio: 10,
    pageBytes: 4096,
  });
  // At 640 MiB the miss ratio is 0.5: bandwidth term 100 * 125000 / (4096 * 0.5).
  assert.ok(Math.abs(model.opsPerSec(640, 100) - 100 * 125000 / (4096 * 0.5)) < 1e-6);
  // With ample bandwidth the latency term 1e6 / (1 + 10 * 0.5) binds.
  assert.ok(Math.abs(model.opsPerSec(640, 1e9) - 1e6 / 6) < 1e-6);
});

Deno.test("mrc model clamps the curve at both ends and floors the miss ratio", () => {
  const model = buildModel({ kind: "mrc", missRatio: [[256, 0.5], [1024, 0]], maxOpsPerSec: 1e9 });
  assert.equal(model.opsPerSec(10, 1), model.opsPerSec(256, 1));
  // Miss ratio 0 is floored at 1e-6, so throughput stays finite.
  assert.ok(Number.isFinite(model.opsPerSec(4096, 1)));
  assert.ok(Math.abs(model.opsPerSec(4096, 1) - 125000 / (4096 * 1e-6)) < 1e-3);
});

Deno.test("mrc saturation bandwidth is where more bandwidth stops helping", () => {
  const model = buildModel({
    kind: "mrc",
    missRatio: [[256, 0.5], [1024, 0.1]],
    maxOpsPerSec: 1e5,
    latencyRatio: 4,
  });
  const saturation = model.saturationBandwidthMbps(512);
  const top = model.opsPerSec(512, 1e9);
  assert.ok(Math.abs(model.opsPerSec(512, saturation) - top) / top < 1e-9);
  assert.ok(model.opsPerSec(512, saturation * 0.99) < top);
});

Deno.test("constant model ignores both resources", () => {
  const model = buildModel({ kind: "constant", opsPerSec: 42 });
  assert.equal(model.opsPerSec(0, 0), 42);
  assert.equal(model.opsPerSec(1e6, 1e6), 42);
});

Deno.test("grid model interpolates bilinearly and clamps outside the grid", () => {
  const model = buildModel({
    kind: "grid",
    cacheMiB: [0, 100],
    bandwidthMbps: [0, 10],
    opsPerSec: [[0, 10], [20, 30]],
  });
  assert.equal(model.opsPerSec(50, 5), 15);
  assert.equal(model.opsPerSec(200, 20), 30);
  assert.equal(model.opsPerSec(-5, 0), 0);
});

Deno.test("interpolate is piecewise linear and clamped", () => {
  assert.equal(interpolate([0, 10, 20], [0, 100, 0], 5), 50);
  assert.equal(interpolate([0, 10, 20], [0, 100, 0], 15), 50);
  assert.equal(interpolate([0, 10], [1, 2], -1), 1);
  assert.equal(interpolate([0, 10], [1, 2], 11), 2);
});
