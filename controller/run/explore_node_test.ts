import assert from "node:assert/strict";
import type { NodeMarket } from "../auction/market.ts";
import { buildModel } from "../auction/model.ts";
import { aroundOf, exploreNode } from "./explore_node.ts";
import { AppLearner } from "./learner.ts";

const placeholder = buildModel({ kind: "constant", opsPerSec: 0 });
const market: NodeMarket = {
  id: "n",
  cacheMiB: 300,
  bandwidthMbps: 600,
  apps: [
    {
      id: "a",
      model: placeholder,
      limits: { minCacheMiB: 32, maxCacheMiB: 300, minBandwidthMbps: 10, maxBandwidthMbps: 600 },
    },
    {
      id: "b",
      model: placeholder,
      limits: { minCacheMiB: 16, maxCacheMiB: 200, minBandwidthMbps: 0, maxBandwidthMbps: 600 },
    },
    {
      id: "c",
      model: placeholder,
      limits: { minCacheMiB: 16, maxCacheMiB: 300, minBandwidthMbps: 20, maxBandwidthMbps: 100 },
    },
  ],
};

Deno.test("aroundOf reaches as far as the app's maxima and the other apps' minima allow", () => {
  const current = { cacheMiB: 100, bandwidthMbps: 200 };
  assert.deepEqual(aroundOf(market, 0, current), {
    ...current,
    maxCacheMiB: 268,
    maxBandwidthMbps: 580,
  });
  assert.deepEqual(aroundOf(market, 1, current), {
    ...current,
    maxCacheMiB: 200,
    maxBandwidthMbps: 570,
  });
  assert.equal(aroundOf(market, 2, current).maxBandwidthMbps, 100);
});

Deno.test("exploreNode probes one app around the base, keeps the node's sums, and notes the probe", () => {
  const learners = market.apps.map(() => new AppLearner());
  const base = [
    { cacheMiB: 100, bandwidthMbps: 200 },
    { cacheMiB: 100, bandwidthMbps: 200 },
    { cacheMiB: 100, bandwidthMbps: 200 },
  ];
  const plan = exploreNode(market, { base, learners, epoch: 1, warmup: true });
  assert.ok(plan.probe !== null);
  const sum = (good: "cacheMiB" | "bandwidthMbps") => plan.bundles.reduce((a, b) => a + b[good], 0);
  assert.ok(Math.abs(sum("cacheMiB") - 300) < 1e-9 && Math.abs(sum("bandwidthMbps") - 600) < 1e-9);
  const probed = market.apps.findIndex((a) => a.id === plan.probe?.app);
  assert.equal(learners[probed]?.lastProbedEpoch, 1);
  assert.equal(learners[probed]?.probes, 1);
  assert.ok(learners.every((l, i) => i === probed || l.probes === 0));
});
