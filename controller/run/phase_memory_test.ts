import assert from "node:assert/strict";
import type { AppSample } from "../../agent/protocol.ts";
import { buildModel } from "../auction/model.ts";
import type { EstimatorSample } from "../estimator/types.ts";
import { PhaseMemory } from "./phase_memory.ts";

function sample(timeMs: number, phase?: string): AppSample {
  return { timeMs, ...(phase === undefined ? {} : { phase }) } as AppSample;
}

const observation = (epoch: number): EstimatorSample => ({
  epoch,
  cacheMiB: 10,
  bandwidthMbps: 10,
  opsPerSec: 100,
  remoteBytesPerSec: 1000,
});

const kvModel = buildModel({ kind: "constant", opsPerSec: 1 });
const streamModel = buildModel({ kind: "constant", opsPerSec: 2 });

Deno.test("PhaseMemory passes every sample through for an app that reports no phase", () => {
  const memory = new PhaseMemory();
  const samples = [sample(0), sample(1000)];
  assert.equal(memory.follow(samples), samples);
  assert.equal(memory.changedPhase, false);
});

Deno.test("PhaseMemory keeps only the samples since a phase change", () => {
  const memory = new PhaseMemory();
  memory.follow([sample(0, "kv")]);
  const kept = memory.follow([sample(1000, "kv"), sample(2000, "stream"), sample(3000, "stream")]);
  assert.deepEqual(kept.map((s) => s.timeMs), [2000, 3000]);
  assert.equal(memory.changedPhase, true);
});

Deno.test("PhaseMemory starts a new phase with no observations and the last model", () => {
  const memory = new PhaseMemory();
  memory.follow([sample(0, "kv")]);
  memory.history.push(observation(1));
  memory.model = kvModel;
  memory.follow([sample(1000, "stream")]);
  assert.deepEqual(memory.history, []);
  assert.equal(memory.model, kvModel);
});

Deno.test("PhaseMemory gives a phase seen before its own observations and model back", () => {
  const memory = new PhaseMemory();
  memory.follow([sample(0, "kv")]);
  memory.history.push(observation(1));
  memory.model = kvModel;
  memory.follow([sample(1000, "stream")]);
  memory.history.push(observation(2));
  memory.model = streamModel;
  memory.follow([sample(2000, "kv")]);
  assert.deepEqual(memory.history, [observation(1)]);
  assert.equal(memory.model, kvModel);
  memory.follow([sample(3000, "stream")]);
  assert.deepEqual(memory.history, [observation(2)]);
  assert.equal(memory.model, streamModel);
});
