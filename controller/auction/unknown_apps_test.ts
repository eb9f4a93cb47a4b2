import assert from "node:assert/strict";
import { equalSplit } from "./equal_split.ts";
import { paretoGaps } from "./fairness.ts";
import { generateScenario } from "./generate.ts";
import type { Bundle, NodeMarket } from "./market.ts";
import { POLICIES, POLICY_NAMES } from "./policy.ts";
import { parseScenario, validateScenario } from "./scenario.ts";

/** Three apps on one node: a cache-hungry one, a bandwidth-hungry one and one nobody measured. */
function mixedMarket(): NodeMarket {
  const spec = {
    nodes: [{ id: "n", cacheMiB: 3072, bandwidthMbps: 3000 }],
    apps: [
      {
        id: "kv",
        node: "n",
        model: {
          kind: "mrc",
          missRatio: [[256, 0.9], [2048, 0.2], [8192, 0.01]],
          maxOpsPerSec: 2e6,
          latencyRatio: 60,
        },
      },
      {
        id: "scan",
        node: "n",
        model: { kind: "mrc", missRatio: [[256, 1], [8192, 1]], maxOpsPerSec: 3e5 },
      },
      { id: "blind", node: "n", model: { kind: "unknown" } },
    ],
  };
  return parseScenario(JSON.stringify(spec)).markets[0] as NodeMarket;
}

const total = (bundles: readonly Bundle[], good: keyof Bundle) =>
  bundles.reduce((a, b) => a + b[good], 0);

Deno.test("every policy keeps an app with an unknown model at exactly its equal split", () => {
  const market = mixedMarket();
  const equal = equalSplit(market);
  for (const name of POLICY_NAMES) {
    const { bundles } = POLICIES[name](market, {});
    assert.deepEqual(bundles[2], equal[2], name);
    assert.ok(total(bundles, "cacheMiB") <= market.cacheMiB * (1 + 1e-9), name);
    assert.ok(total(bundles, "bandwidthMbps") <= market.bandwidthMbps * (1 + 1e-9), name);
  }
});

Deno.test("symbiosis lets the known apps trade the rest of the node", () => {
  const market = mixedMarket();
  const { bundles } = POLICIES.symbiosis(market, {});
  const [kv, scan] = [bundles[0] as Bundle, bundles[1] as Bundle];
  assert.ok(kv.cacheMiB > 1024 * 1.5, `kv buys cache: ${kv.cacheMiB}`);
  assert.ok(scan.bandwidthMbps > 1000 * 1.1, `scan buys bandwidth: ${scan.bandwidthMbps}`);
  assert.ok(Math.abs(kv.cacheMiB + scan.cacheMiB - 2048) < 1e-6, "the known apps share 2/3");
});

Deno.test("every policy keeps unknown apps at their equal split over epochs with a previous allocation", () => {
  const scenario = validateScenario(generateScenario(11, {
    nodes: 3,
    appsPerNode: [2, 6],
    limits: "mixed",
    shapes: ["exponential", "cliff", "constant", "unknown"],
  }));
  for (const name of POLICY_NAMES) {
    for (const market of scenario.markets) {
      const equal = equalSplit(market);
      let previous = POLICIES[name](market, {});
      for (let epoch = 0; epoch < 3; epoch++) {
        previous = POLICIES[name](market, { previous, maxMoveFraction: 0.25 });
      }
      market.apps.forEach((app, i) => {
        if (app.model.spec.kind !== "unknown") return;
        assert.deepEqual(previous.bundles[i], equal[i], `${name} ${market.id} ${app.id}`);
      });
    }
  }
});

Deno.test("paretoGaps does not count the equal split of an app with an unknown model as idle", () => {
  const market = mixedMarket();
  const { bundles } = POLICIES.symbiosis(market, {});
  assert.deepEqual(paretoGaps(market, bundles), []);
});
