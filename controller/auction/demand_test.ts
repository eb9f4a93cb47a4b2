import assert from "node:assert/strict";
import { type BudgetSet, demand, frontierOf } from "./demand.ts";
import { randomModel, seededRandom } from "./generate.ts";
import { buildModel } from "./model.ts";

/** The best throughput on the budget frontier by a fine scan (slow, obviously right). */
function bruteForce(opsPerSec: (c: number, b: number) => number, set: BudgetSet): number {
  const frontier = frontierOf(set);
  let best = 0;
  for (let k = 0; k <= 20000; k++) {
    const c = frontier.cacheLo + (frontier.cacheHi - frontier.cacheLo) * k / 20000;
    best = Math.max(best, opsPerSec(c, frontier.bandwidthAt(c)));
  }
  return best;
}

Deno.test("demand finds the best affordable bundle of random models (within a fine scan)", () => {
  const random = seededRandom(11);
  for (let k = 0; k < 300; k++) {
    const shape = (["streaming", "exponential", "cliff", "constant"] as const)[k % 4] ?? "constant";
    const model = buildModel(randomModel(random, shape, 8192));
    const theta = random();
    const set: BudgetSet = {
      priceCache: theta * 4 / 8192,
      priceBandwidth: (1 - theta) * 4 / 4000,
      budget: 1,
      limits: { minCacheMiB: 0, maxCacheMiB: 8192, minBandwidthMbps: 0, maxBandwidthMbps: 4000 },
    };
    const chosen = demand(model, set);
    const scanned = bruteForce((c, b) => model.opsPerSec(c, b), set);
    assert.ok(
      chosen.ops >= scanned * (1 - 1e-6),
      `case ${k} (${shape}): ${chosen.ops} < ${scanned}`,
    );
    const cost = set.priceCache * chosen.bundle.cacheMiB +
      set.priceBandwidth * chosen.bundle.bandwidthMbps;
    assert.ok(cost <= set.budget * (1 + 1e-9), `case ${k} affordable`);
  }
});

Deno.test("demand takes no cache and no bandwidth a constant app gains nothing from", () => {
  const model = buildModel({ kind: "constant", opsPerSec: 10 });
  const chosen = demand(model, {
    priceCache: 0.001,
    priceBandwidth: 0.001,
    budget: 1,
    limits: { minCacheMiB: 64, maxCacheMiB: 1000, minBandwidthMbps: 8, maxBandwidthMbps: 1000 },
  });
  assert.deepEqual(chosen.bundle, { cacheMiB: 64, bandwidthMbps: 8 });
});

Deno.test("demand buys no bandwidth beyond saturation", () => {
  const model = buildModel({
    kind: "mrc",
    missRatio: [[256, 0.1], [512, 0.1]],
    maxOpsPerSec: 1000,
  });
  const chosen = demand(model, {
    priceCache: 0.001,
    priceBandwidth: 0.0001,
    budget: 1,
    limits: { minCacheMiB: 0, maxCacheMiB: 1000, minBandwidthMbps: 0, maxBandwidthMbps: 100000 },
  });
  assert.ok(
    chosen.bundle.bandwidthMbps <=
      model.saturationBandwidthMbps(chosen.bundle.cacheMiB) * (1 + 1e-9),
  );
  assert.equal(chosen.ops, 1000);
});
