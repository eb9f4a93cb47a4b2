import assert from "node:assert/strict";
import type { PhaseChange } from "../results/timeline.ts";
import type { EpochRecord } from "../results/types.ts";
import { adaptationTimes } from "./adaptation.ts";

/** Epochs of 5 s on a node of 1000 MiB and 1000 Mbps; `ph` gets the given cache per epoch. */
function records(cacheMiB: number[], bandwidthMbps?: number[]): EpochRecord[] {
  return cacheMiB.map((cache, epoch) => ({
    v: 1,
    epoch,
    time: new Date(Date.parse("2026-01-01T00:00:00Z") + (epoch + 1) * 5000).toISOString(),
    elapsedMs: (epoch + 1) * 5000,
    phase: "measure",
    policy: "symbiosis",
    apps: [{
      name: "ph",
      host: "cn1",
      cacheMiB: cache,
      bandwidthMbps: bandwidthMbps?.[epoch] ?? 500,
      opsPerSec: 1000,
      used: { cacheMiB: cache, remoteReadMbps: 100, remoteWriteMbps: 0 },
      predictedOpsPerSec: null,
      model: "equal-split",
    }],
    nodes: [{ host: "cn1", cacheMiB: 1000, bandwidthMbps: 1000, prices: null, auctionMs: 0 }],
  }));
}

const change = (atMs: number): PhaseChange => ({
  app: "ph",
  atMs,
  to: "stream",
  source: "event",
});

Deno.test("adaptationTimes: from the change to the start of the first epoch that stays in the band", () => {
  // Change at 22 s (epoch 4, 20-25 s); steady state = median(500, 500, 510) = 500; the band is
  // ±50 MiB, entered for good by epoch 7 (480 MiB, from 35 s): 13 s, 3 epochs.
  const [a] = adaptationTimes(records([200, 200, 200, 200, 200, 300, 400, 480, 500, 500, 510]), [
    change(22_000),
  ]);
  assert.deepEqual(a, {
    app: "ph",
    changeSec: 22,
    to: "stream",
    source: "event",
    steady: { cacheMiB: 500, bandwidthMbps: 500 },
    adaptationSec: 13,
    adaptationEpochs: 3,
    reason: "settled",
  });
});

Deno.test("adaptationTimes is 0 when the allocation never leaves the band (a static split)", () => {
  const [a] = adaptationTimes(records(Array(10).fill(500)), [change(12_000)]);
  assert.equal(a?.adaptationSec, 0);
  assert.equal(a?.adaptationEpochs, 0);
});

Deno.test("adaptationTimes watches both resources", () => {
  const cache = Array(10).fill(500);
  const bandwidth = [500, 500, 500, 500, 300, 200, 200, 200, 200, 200];
  const [a] = adaptationTimes(records(cache, bandwidth), [change(17_000)]);
  // Bandwidth settles at 200 Mbps from epoch 5 (25 s): 8 s after the change.
  assert.equal(a?.adaptationSec, 8);
  assert.deepEqual(a?.steady, { cacheMiB: 500, bandwidthMbps: 200 });
});

Deno.test("adaptationTimes ends a phase at the app's next change", () => {
  // Changes at 10 s and 35 s: the first phase is epochs 2..6 (10-35 s), steady at 800.
  const cache = [200, 200, 500, 800, 800, 800, 800, 300, 200, 200, 200, 200];
  const result = adaptationTimes(records(cache), [change(10_000), change(35_000)]);
  assert.deepEqual(result.map((a) => [a.adaptationSec, a.steady?.cacheMiB]), [[5, 800], [5, 200]]);
});

Deno.test("adaptationTimes reports too-short phases and oscillation as not settled", () => {
  const short = adaptationTimes(records([500, 500, 500, 500, 500]), [change(17_000)]);
  assert.deepEqual([short[0]?.adaptationSec, short[0]?.reason], [null, "too-short"]);
  const oscillating = adaptationTimes(records([500, 300, 700, 300, 700, 300, 700, 300]), [
    change(3_000),
  ]);
  assert.deepEqual([oscillating[0]?.adaptationSec, oscillating[0]?.reason], [null, "unsettled"]);
});

Deno.test("adaptationTimes takes other band widths and windows, and refuses nonsense", () => {
  const cache = [200, 200, 200, 200, 200, 300, 400, 480, 500, 500, 510];
  const [wide] = adaptationTimes(records(cache), [change(22_000)], { bandFraction: 0.15 });
  assert.equal(wide?.adaptationSec, 8, "400 MiB is within 150 MiB of 500");
  assert.throws(() => adaptationTimes([], [], { steadyEpochs: 0 }), /steadyEpochs >= 1/);
  assert.throws(() => adaptationTimes([], [], { bandFraction: 0 }), /bandFraction > 0/);
});
