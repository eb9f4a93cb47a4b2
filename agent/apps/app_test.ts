import assert from "node:assert/strict";
import { type RawSample, withRates } from "./app.ts";
import { toRawSample } from "./farmem_app.ts";
import { appSampleSchema } from "../reply_schema.ts";
import { idleFarmemSample } from "../../test/fixtures/farmem_sample.ts";

const allocation = { cacheBytes: 64 * 2 ** 20, bandwidthBytesPerSec: 1e6 };

function raw(
  timeMs: number,
  counters: { opsTotal: number | null; swapInBytes: number },
): RawSample {
  return {
    ...toRawSample("a", idleFarmemSample({ cacheBytes: 0, bandwidthBytesPerSec: 0 }), {
      state: "running",
      allocation,
      launchedAtMs: 0,
    }),
    timeMs,
    ...counters,
  };
}

Deno.test("withRates derives per-second rates from the previous sample", () => {
  const sample = withRates(raw(3000, { opsTotal: 500, swapInBytes: 4e6 }), {
    previous: raw(1000, { opsTotal: 100, swapInBytes: 0 }),
    seq: 7,
  });
  assert.equal(sample.seq, 7);
  assert.equal(sample.opsPerSec, 200);
  assert.equal(sample.swapInBytesPerSec, 2e6);
});

Deno.test("withRates reports no op rate without a previous sample or a source", () => {
  assert.equal(
    withRates(raw(1000, { opsTotal: 5, swapInBytes: 0 }), { previous: undefined, seq: 1 })
      .opsPerSec,
    null,
  );
  assert.equal(
    withRates(raw(2000, { opsTotal: null, swapInBytes: 0 }), {
      previous: raw(1000, { opsTotal: null, swapInBytes: 0 }),
      seq: 2,
    }).opsPerSec,
    null,
  );
});

Deno.test("toRawSample converts the far-memory MRC from MiB to bytes", () => {
  const sample = toRawSample("kv", {
    elapsedMs: 10,
    opsTotal: 5,
    accesses: 10,
    hits: 7,
    misses: 3,
    remoteReadBytes: 12288,
    remoteWriteBytes: 4096,
    stallMs: 2,
    cacheBytes: 2 ** 20,
    bandwidthBytesPerSec: 1e6,
    residentBytes: 8192,
    mrc: [[2 ** 20, 0.5], [2 ** 21, 0.1]],
  }, { state: "running", allocation, launchedAtMs: 0 });
  assert.deepEqual(sample.mrc, {
    available: true,
    source: "farmem",
    points: [[2 ** 20, 0.5], [2 ** 21, 0.1]],
  });
  assert.equal(sample.majorFaults, 3);
  assert.equal(sample.swapInBytes, 12288);
});

Deno.test("toRawSample passes a phased workload's phase on, and the controller's schema takes it", () => {
  const options = { state: "running" as const, allocation, launchedAtMs: 0 };
  const phased = withRates(toRawSample("p", idleFarmemSample({ phase: "stream" }), options), {
    previous: undefined,
    seq: 1,
  });
  assert.equal(appSampleSchema.parse(phased).phase, "stream");
  assert.equal("phase" in toRawSample("kv", idleFarmemSample(), options), false);
  assert.equal(appSampleSchema.safeParse({ ...phased, phase: "a b" }).success, false);
});
