import assert from "node:assert/strict";
import { buildModel } from "../auction/model.ts";
import { fillMiBPerMbps, withinFillReach } from "./fill_reach.ts";

// A store whose misses fall from 1 to 0 between 0 and 100 MiB, bandwidth-bound.
const store = buildModel({
  kind: "mrc",
  missRatio: [[0, 1], [100, 0]],
  maxOpsPerSec: 1e6,
  latencyRatio: 0,
});

Deno.test("fillMiBPerMbps: a 5 s epoch of reads fills 0.596 MiB per Mbps, half with half writes", () => {
  assert.ok(Math.abs(fillMiBPerMbps(5000, 1) - 625_000 / 2 ** 20) < 1e-12);
  assert.ok(Math.abs(fillMiBPerMbps(5000, 0.5) - 312_500 / 2 ** 20) < 1e-12);
});

Deno.test("withinFillReach: cache beyond what the app can fill by the epoch's end is worth nothing yet", () => {
  const reached = withinFillReach(store, { residentMiB: 20, fillMiBPerMbps: 1 });
  // At 10 Mbps it reaches 30 MiB: 60 MiB of cache performs like 30.
  assert.equal(reached.opsPerSec(60, 10), store.opsPerSec(30, 10));
  assert.ok(reached.opsPerSec(60, 10) < store.opsPerSec(60, 10));
  // Within the reach nothing changes.
  assert.equal(reached.opsPerSec(25, 10), store.opsPerSec(25, 10));
});

Deno.test("withinFillReach: more bandwidth fills more of a grown cache", () => {
  const reached = withinFillReach(store, { residentMiB: 20, fillMiBPerMbps: 1 });
  assert.ok(reached.opsPerSec(60, 40) > reached.opsPerSec(60, 10) * 4);
  assert.equal(reached.opsPerSec(60, 40), store.opsPerSec(60, 40));
});

Deno.test("withinFillReach: bandwidth saturates only once it fills the cache", () => {
  const reached = withinFillReach(store, { residentMiB: 20, fillMiBPerMbps: 0.5 });
  assert.ok(reached.saturationBandwidthMbps(60) >= 80);
  assert.equal(reached.saturationBandwidthMbps(10), store.saturationBandwidthMbps(10));
});
