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
  });
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
