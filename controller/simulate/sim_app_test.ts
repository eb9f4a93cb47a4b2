import assert from "node:assert/strict";
import type { LaunchSpec } from "../../agent/protocol.ts";
import { modelAppSpec, type SimAppSpec } from "./app_models.ts";
import { SimApp } from "./sim_app.ts";

const MiB = 2 ** 20;
const allocation = { cacheBytes: 8 * MiB, bandwidthBytesPerSec: 1_000_000 };
const farmem: LaunchSpec = {
  appId: "kv",
  allocation,
  enforcement: "farmem",
  program: { kind: "workload", workload: "kv", args: ["--memserver", "127.0.0.1:7000"] },
};
const command: LaunchSpec = { appId: "cmd", allocation, enforcement: "cgroup", argv: ["x"] };
/** Uniform access over 16 MiB, 4 KiB per miss, quiet. */
const uniform: SimAppSpec = {
  ...modelAppSpec({
    kind: "mrc",
    missRatio: [[0, 1], [16, 0]],
    maxOpsPerSec: 1e6,
    pageBytes: 4096,
  }, "test"),
  noise: 0,
};

Deno.test("a simulated far-memory app reports its miss-ratio curve in bytes and its traffic", () => {
  const app = new SimApp(farmem, { spec: uniform, seed: 1, nowMs: 0 });
  app.advanceTo(60_000);
  const sample = app.sample(60_000);
  assert.deepEqual(sample.mrc, {
    available: true,
    source: "farmem",
    points: [[0, 1], [16 * MiB, 0]],
  });
  assert.equal(sample.throughputSource, "farmem");
  // Warm: half the working set cached, miss ratio 0.5, 1 MB/s of 4 KiB misses.
  assert.equal(sample.residentBytes, 8 * MiB);
  const lastSecond = new SimApp(farmem, { spec: uniform, seed: 1, nowMs: 0 });
  lastSecond.advanceTo(59_000);
  const before = lastSecond.sample(59_000);
  lastSecond.advanceTo(60_000);
  const after = lastSecond.sample(60_000);
  assert.ok(Math.abs(after.swapInBytes - before.swapInBytes - 1_000_000) < 1000);
  assert.ok(Math.abs((after.opsTotal ?? 0) - (before.opsTotal ?? 0) - 1e6 / 4096 / 0.5) < 2);
});

Deno.test("a simulated unmodified program reports no curve, only swap, faults and resident memory", () => {
  const app = new SimApp(command, { spec: uniform, seed: 1, nowMs: 0 });
  app.advanceTo(30_000);
  const sample = app.sample(30_000);
  assert.equal(sample.mrc.available, false);
  assert.equal(sample.opsTotal, null, "no throughput source, no op count");
  assert.equal(sample.swapBytes, 8 * MiB);
  assert.ok(sample.majorFaults > 0);
  assert.ok(Math.abs(sample.swapInBytes - sample.majorFaults * 4096) <= 4096, "a fault per page");
  assert.equal(sample.pressure.available, true);
});

Deno.test("a simulated cache fills from its misses after it grows, and drops at once", () => {
  const app = new SimApp(farmem, { spec: uniform, seed: 1, nowMs: 0 });
  app.advanceTo(60_000);
  app.setAllocation({ ...allocation, cacheBytes: 12 * MiB });
  app.advanceTo(61_000);
  const filling = app.sample(61_000).residentBytes;
  assert.ok(filling > 8 * MiB && filling < 12 * MiB, `${filling / MiB} MiB after 1 s`);
  app.setAllocation({ ...allocation, cacheBytes: 2 * MiB });
  assert.equal(app.sample(61_000).residentBytes, 2 * MiB);
});

Deno.test("simulated noise never pushes traffic above the bandwidth limit", () => {
  const app = new SimApp(farmem, { spec: { ...uniform, noise: 0.3 }, seed: 9, nowMs: 0 });
  let previous = app.sample(0);
  for (let t = 1000; t <= 30_000; t += 1000) {
    app.advanceTo(t);
    const sample = app.sample(t);
    assert.ok(sample.swapInBytes - previous.swapInBytes <= 1_000_000 + 1, `second ${t}`);
    previous = sample;
  }
});
