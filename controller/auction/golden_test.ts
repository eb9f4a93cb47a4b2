import assert from "node:assert/strict";
import { drf } from "./drf.ts";
import { equalSplit } from "./equal_split.ts";
import { harvest } from "./harvest.ts";
import { ideal } from "./ideal.ts";
import type { Bundle, NodeAllocation, NodeMarket } from "./market.ts";
import { opsOf } from "./market.ts";
import { parseScenario } from "./scenario.ts";
import { staticSplit } from "./static.ts";
import { symbiosis } from "./symbiosis.ts";
import { trade } from "./trade.ts";

const PAPER_VM = new URL("../../playbooks/scenarios/paper_vm.json", import.meta.url);

function paperMarket(): NodeMarket {
  const market = parseScenario(Deno.readTextFileSync(PAPER_VM)).markets[0];
  if (market === undefined) throw new Error("paper_vm.json has no node");
  return market;
}

const at = (bundles: readonly Bundle[], i: number) => bundles[i] as Bundle;
const ratios = (market: NodeMarket, bundles: readonly Bundle[]) => {
  const equal = equalSplit(market);
  return bundles.map((b, i) => opsOf(market, i, b) / opsOf(market, i, at(equal, i)));
};

Deno.test("symbiosis gives the streaming app more bandwidth and the kv app more cache, both better off", () => {
  const market = paperMarket();
  const { bundles, converged } = symbiosis(market);
  const equal = equalSplit(market);
  assert.ok(converged);
  assert.ok(
    at(bundles, 0).bandwidthMbps > at(equal, 0).bandwidthMbps * 1.05,
    "stream gains bandwidth",
  );
  assert.ok(at(bundles, 1).cacheMiB > at(equal, 1).cacheMiB * 1.2, "kv gains cache");
  const [stream, kv, cpu] = ratios(market, bundles);
  assert.ok((stream as number) > 1.1, `stream ratio ${stream}`);
  assert.ok((kv as number) > 1.5, `kv ratio ${kv}`);
  assert.ok(Math.abs((cpu as number) - 1) < 1e-9, "the CPU-bound app is unaffected");
});

Deno.test("symbiosis leaves a CPU-bound app only its minimum limits when the others gain from the rest", () => {
  const market = paperMarket();
  const cpu = at(symbiosis(market).bundles, 2);
  // Rounding dust nobody gains from (under a thousandth of a MiB or Mbps) may come back to it.
  assert.ok(Math.abs(cpu.cacheMiB - 1280) < 1e-3, `cache ${cpu.cacheMiB}`);
  assert.ok(Math.abs(cpu.bandwidthMbps - 1536) < 1e-3, `bandwidth ${cpu.bandwidthMbps}`);
});

Deno.test("symbiosis leaves a CPU-bound app its equal split of what nobody else gains from", () => {
  const spec = {
    nodes: [{ id: "n", cacheMiB: 768, bandwidthMbps: 400 }],
    apps: [
      { id: "cpu", node: "n", model: { kind: "constant", opsPerSec: 1000 } },
      {
        id: "small",
        node: "n",
        // Gains from cache only up to 256 MiB and from bandwidth only up to its cap.
        model: { kind: "mrc", missRatio: [[64, 0.5], [256, 0.01]], maxOpsPerSec: 50_000 },
      },
    ],
  };
  const market = parseScenario(JSON.stringify(spec)).markets[0] as NodeMarket;
  const { bundles } = symbiosis(market);
  const [cpu, small] = [at(bundles, 0), at(bundles, 1)];
  assert.ok(
    small.cacheMiB >= 256 - 1e-6 && small.cacheMiB <= 384 + 1e-6,
    `small ${small.cacheMiB}`,
  );
  // The CPU-bound app sells only what the other app gains from; the rest stays its own.
  assert.ok(cpu.cacheMiB >= 384 - 1e-6, `cpu cache ${cpu.cacheMiB}`);
  assert.ok(cpu.cacheMiB + small.cacheMiB >= 768 * (1 - 1e-9), "no cache left over");
  assert.ok(cpu.bandwidthMbps + small.bandwidthMbps >= 400 * (1 - 1e-9), "no bandwidth left over");
});

Deno.test("symbiosis splits evenly between two identical apps", () => {
  const spec = {
    nodes: [{ id: "n", cacheMiB: 2048, bandwidthMbps: 1000 }],
    apps: ["a", "b"].map((id) => ({
      id,
      node: "n",
      model: {
        kind: "mrc",
        missRatio: [[256, 0.9], [1024, 0.3], [4096, 0.05]],
        maxOpsPerSec: 2e6,
        latencyRatio: 50,
      },
    })),
  };
  const market = parseScenario(JSON.stringify(spec)).markets[0] as NodeMarket;
  const { bundles } = symbiosis(market);
  assert.ok(Math.abs(at(bundles, 0).cacheMiB - 1024) < 1e-3);
  assert.ok(Math.abs(at(bundles, 1).bandwidthMbps - 500) < 1e-3);
});

Deno.test("symbiosis beats the 2-app equilibrium of the original allocator (both apps 20 % better)", () => {
  // The original allocator's equilibrium for STREAM + key-value was improvable for both apps
  // by 20-30 % (shared/SPIRIT.md, section 5); a correct CEEI finds such gains itself.
  const spec = {
    nodes: [{ id: "vm", cacheMiB: 10240, bandwidthMbps: 7500 }],
    apps: [
      {
        id: "stream",
        node: "vm",
        model: { kind: "mrc", missRatio: [[256, 1], [16384, 1]], maxOpsPerSec: 400000 },
      },
      {
        id: "kv",
        node: "vm",
        model: {
          kind: "mrc",
          missRatio: [[256, 0.9], [2048, 0.4], [6144, 0.08], [16384, 0.02]],
          maxOpsPerSec: 3e6,
          latencyRatio: 60,
        },
      },
    ],
  };
  const market = parseScenario(JSON.stringify(spec)).markets[0] as NodeMarket;
  const [stream, kv] = ratios(market, symbiosis(market).bundles);
  assert.ok((stream as number) >= 1.2 && (kv as number) >= 1.2, `ratios ${stream}, ${kv}`);
});

Deno.test("static allocates exactly the equal split", () => {
  const market = paperMarket();
  assert.deepEqual(staticSplit(market).bundles, equalSplit(market));
});

Deno.test("ideal reaches at least the smallest gain of symbiosis (egalitarian optimum)", () => {
  const market = paperMarket();
  const smallest = (bundles: readonly Bundle[]) => Math.min(...ratios(market, bundles));
  assert.ok(smallest(ideal(market).bundles) >= smallest(symbiosis(market).bundles) * 0.995);
});

Deno.test("drf without declared demands degenerates to the equal split", () => {
  const paper = paperMarket();
  const limits = { minCacheMiB: 0, maxCacheMiB: 5120, minBandwidthMbps: 0, maxBandwidthMbps: 5120 };
  const market: NodeMarket = { ...paper, apps: paper.apps.map((app) => ({ ...app, limits })) };
  const result = drf(market).bundles;
  equalSplit(market).forEach((b, i) => {
    assert.ok(Math.abs(at(result, i).cacheMiB - b.cacheMiB) < 1e-6);
    assert.ok(Math.abs(at(result, i).bandwidthMbps - b.bandwidthMbps) < 1e-6);
  });
});

Deno.test("drf equalises dominant shares of declared demands", () => {
  const market = paperMarket();
  const declared: NodeMarket = {
    ...market,
    apps: market.apps.map((app, i) => ({
      ...app,
      limits: { minCacheMiB: 0, maxCacheMiB: 5120, minBandwidthMbps: 0, maxBandwidthMbps: 5120 },
      peakDemand: [
        { cacheMiB: 512, bandwidthMbps: 4096 },
        { cacheMiB: 4096, bandwidthMbps: 1024 },
        { cacheMiB: 1024, bandwidthMbps: 1024 },
      ][i] as Bundle,
    })),
  };
  const bundles = drf(declared).bundles;
  const dominant = bundles.map((b) => Math.max(b.cacheMiB / 5120, b.bandwidthMbps / 5120));
  assert.ok(Math.abs((dominant[0] as number) - (dominant[1] as number)) < 1e-6);
  const used = bundles.reduce((a, b) => a + b.bandwidthMbps, 0);
  assert.ok(used <= 5120 + 1e-6);
});

Deno.test("harvest and trade improve the worst-off app over epochs and stay feasible", () => {
  const market = paperMarket();
  for (const policy of [harvest, trade]) {
    let previous: NodeAllocation | undefined;
    for (let epoch = 0; epoch < 10; epoch++) {
      previous = policy(market, previous === undefined ? {} : { previous });
    }
    const bundles = previous?.bundles ?? [];
    assert.ok(Math.min(...ratios(market, bundles)) >= 1 - 1e-9);
    assert.ok(Math.max(...ratios(market, bundles)) > 1.05, "some app gained");
    assert.ok(bundles.reduce((a, b) => a + b.cacheMiB, 0) <= 5120 + 1e-6);
  }
});
