import assert from "node:assert/strict";
import type { AppSample } from "../../agent/protocol.ts";
import { epochSample } from "./from_agent.ts";

function sample(seq: number, fields: Partial<AppSample> = {}): AppSample {
  return {
    seq,
    appId: "kv",
    timeMs: 1_000_000 + seq * 1000,
    elapsedMs: seq * 1000,
    state: "running",
    enforcement: "farmem",
    allocation: { cacheBytes: 256 * 2 ** 20, bandwidthBytesPerSec: 62_500_000 },
    enforceable: {
      cache: { enforced: true, via: "farmem" },
      bandwidthRead: { enforced: true, via: "farmem" },
      bandwidthWrite: { enforced: true, via: "farmem" },
    },
    opsTotal: seq * 5000,
    opsPerSec: 5000,
    throughputSource: "farmem",
    residentBytes: 0,
    peakResidentBytes: null,
    swapBytes: 0,
    swapInBytes: seq * 4_000_000,
    swapOutBytes: seq * 1_000_000,
    swapOutEstimated: false,
    swapInBytesPerSec: 4_000_000,
    swapOutBytesPerSec: 1_000_000,
    majorFaults: 0,
    ioReadBytes: 0,
    ioWriteBytes: 0,
    cpuTimeMs: null,
    stallMs: null,
    pressure: { available: false, reason: "test" },
    mrc: { available: false, reason: "test" },
    ...fields,
  };
}

Deno.test("epochSample derives rates from counter deltas and converts units", () => {
  const result = epochSample([sample(1), sample(2), sample(6)], 4);
  assert.deepEqual(result, {
    epoch: 4,
    cacheMiB: 256,
    bandwidthMbps: 500,
    opsPerSec: 5000,
    remoteBytesPerSec: 5_000_000,
    swapInBytesPerSec: 4_000_000,
    swapOutBytesPerSec: 1_000_000,
    residentMiB: 0,
    trafficMeasured: true,
    majorFaultsPerSec: 0,
  });
});

/** A cgroup app whose swap-outs are not throttled, on a device that is not accounted. */
function cgroupSample(seq: number, fields: Partial<AppSample> = {}): AppSample {
  return sample(seq, {
    enforcement: "cgroup",
    throughputSource: "log",
    enforceable: {
      cache: { enforced: true, via: "memory.max" },
      bandwidthRead: { enforced: false, reason: "no swap device" },
      bandwidthWrite: { enforced: false, reason: "not on this kernel" },
    },
    swapInBytes: 0,
    swapOutBytes: 0,
    swapInBytesPerSec: 0,
    swapOutBytesPerSec: 0,
    ...fields,
  });
}

Deno.test("epochSample counts only swap-ins as limited traffic where writes are not throttled", () => {
  const result = epochSample([
    cgroupSample(1, { swapInBytes: 1_000_000, swapOutBytes: 0 }),
    cgroupSample(3, { swapInBytes: 9_000_000, swapOutBytes: 6_000_000 }),
  ], 2);
  assert.ok(!("gap" in result));
  assert.equal(result.remoteBytesPerSec, 4_000_000);
  assert.equal(result.swapOutBytesPerSec, 3_000_000);
  assert.equal(result.trafficMeasured, true);
});

Deno.test("epochSample marks traffic unmeasurable when pages sit in swap but no counter moves", () => {
  const result = epochSample([
    cgroupSample(1, { swapBytes: 300 * 2 ** 20 }),
    cgroupSample(5, { swapBytes: 340 * 2 ** 20 }),
  ], 3);
  assert.ok(!("gap" in result));
  assert.equal(result.trafficMeasured, false);
});

Deno.test("epochSample takes zero traffic as measured when nothing is in swap", () => {
  const result = epochSample([cgroupSample(1), cgroupSample(5)], 3);
  assert.ok(!("gap" in result));
  assert.equal(result.trafficMeasured, true);
});

Deno.test("epochSample takes the agent's word on whether traffic is measurable", () => {
  const result = epochSample([
    cgroupSample(1, { remoteTrafficMeasurable: false, swapInBytes: 10 }),
    cgroupSample(2, { remoteTrafficMeasurable: false, swapInBytes: 20 }),
  ], 3);
  assert.ok(!("gap" in result));
  assert.equal(result.trafficMeasured, false);
});

Deno.test("epochSample turns refault, activation, fault and stall counters into rates", () => {
  const pressure = (us: number): AppSample["pressure"] => ({
    available: true,
    scope: "cgroup",
    someAvg10: 0,
    fullAvg10: 0,
    someTotalUs: us,
    fullTotalUs: 0,
  });
  const result = epochSample([
    cgroupSample(1, {
      workingsetRefaultTotal: 100,
      workingsetActivateTotal: 40,
      majorFaults: 10,
      pressure: pressure(1_000_000),
    }),
    cgroupSample(5, {
      workingsetRefaultTotal: 900,
      workingsetActivateTotal: 240,
      majorFaults: 810,
      pressure: pressure(1_400_000),
    }),
  ], 3);
  assert.ok(!("gap" in result));
  assert.equal(result.refaultsPerSec, 200);
  assert.equal(result.activationsPerSec, 50);
  assert.equal(result.majorFaultsPerSec, 200);
  assert.equal(result.memoryStallShare, 0.1);
});

Deno.test("epochSample leaves out counters the kernel does not report", () => {
  const result = epochSample([cgroupSample(1), cgroupSample(2)], 3);
  assert.ok(!("gap" in result));
  assert.equal("refaultsPerSec" in result, false);
  assert.equal("memoryStallShare" in result, false);
});

Deno.test("epochSample uses the agent's rates when there is one sample", () => {
  const result = epochSample([sample(3, { opsPerSec: 1234 })], 0);
  assert.ok(!("gap" in result));
  assert.equal(result.opsPerSec, 1234);
  assert.equal(result.remoteBytesPerSec, 5_000_000);
});

Deno.test("epochSample takes the last available MRC in MiB", () => {
  const mrc = {
    available: true as const,
    source: "farmem" as const,
    points: [[2 ** 20, 0.5], [2 ** 21, 0.2]] as Array<[number, number]>,
  };
  const result = epochSample([sample(1, { mrc }), sample(2)], 0);
  assert.ok(!("gap" in result));
  assert.deepEqual(result.mrc, [[1, 0.5], [2, 0.2]]);
  assert.equal(result.mrcSource, "farmem");
});

Deno.test("epochSample reports a gap without samples or a throughput source", () => {
  assert.deepEqual(epochSample([], 0), { gap: "no samples this epoch" });
  const none = { opsTotal: null, opsPerSec: null, throughputSource: "none" as const };
  assert.deepEqual(epochSample([sample(1, none), sample(2, none)], 0), {
    gap: "no throughput source (none)",
  });
});

Deno.test("epochSample reports a gap when the op counter goes backwards", () => {
  const result = epochSample([sample(5), sample(6, { opsTotal: 10 })], 0);
  assert.ok("gap" in result && /backwards/.test(result.gap));
});
