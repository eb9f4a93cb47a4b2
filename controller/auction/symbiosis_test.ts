import assert from "node:assert/strict";
import { equalSplit } from "./equal_split.ts";
import {
  envyPairs,
  GUARANTEE_TOLERANCE,
  paretoGaps,
  sharingIncentiveViolations,
} from "./fairness.ts";
import { generateScenario } from "./generate.ts";
import type { Bundle, NodeAllocation, NodeMarket } from "./market.ts";
import { buildModel } from "./model.ts";
import { POLICIES, POLICY_NAMES } from "./policy.ts";
import { type Scenario, validateScenario } from "./scenario.ts";
import { symbiosis } from "./symbiosis.ts";

const LIMIT_MODES = ["none", "tight", "loose", "mixed"] as const;

/** Seeded scenarios: 1-12 apps per node, every curve shape, every kind of limits, 2 nodes. */
function* scenarios(count: number): Generator<{ seed: number; scenario: Scenario }> {
  for (let seed = 1; seed <= count; seed++) {
    const spec = generateScenario(seed, {
      nodes: 2,
      appsPerNode: [1, 12],
      limits: LIMIT_MODES[seed % LIMIT_MODES.length] as (typeof LIMIT_MODES)[number],
    });
    yield { seed, scenario: validateScenario(spec) };
  }
}

function feasibilityProblems(market: NodeMarket, bundles: readonly Bundle[]): string[] {
  const problems: string[] = [];
  const slack = 1e-6;
  const cache = bundles.reduce((a, b) => a + b.cacheMiB, 0);
  const bandwidth = bundles.reduce((a, b) => a + b.bandwidthMbps, 0);
  if (cache > market.cacheMiB * (1 + slack)) problems.push(`cache ${cache} > ${market.cacheMiB}`);
  if (bandwidth > market.bandwidthMbps * (1 + slack)) {
    problems.push(`bandwidth ${bandwidth} > ${market.bandwidthMbps}`);
  }
  bundles.forEach((b, i) => {
    const l = market.apps[i]?.limits;
    if (l === undefined) return problems.push(`missing app ${i}`);
    const inside = (v: number, lo: number, hi: number) =>
      v >= lo - slack * Math.max(1, lo) && v <= hi + slack * Math.max(1, hi);
    if (!inside(b.cacheMiB, l.minCacheMiB, l.maxCacheMiB)) {
      problems.push(`app ${i} cache ${b.cacheMiB} outside limits`);
    }
    if (!inside(b.bandwidthMbps, l.minBandwidthMbps, l.maxBandwidthMbps)) {
      problems.push(`app ${i} bandwidth ${b.bandwidthMbps} outside limits`);
    }
  });
  return problems;
}

const PROPERTY_SEEDS = 160;

Deno.test("symbiosis keeps every allocation within node capacity and app limits", () => {
  for (const { seed, scenario } of scenarios(PROPERTY_SEEDS)) {
    for (const market of scenario.markets) {
      assert.deepEqual(
        feasibilityProblems(market, symbiosis(market).bundles),
        [],
        `seed ${seed} ${market.id}`,
      );
    }
  }
});

Deno.test("symbiosis gives every app at least its equal-split throughput (sharing incentive)", () => {
  for (const { seed, scenario } of scenarios(PROPERTY_SEEDS)) {
    for (const market of scenario.markets) {
      const { bundles } = symbiosis(market);
      assert.deepEqual(
        sharingIncentiveViolations(market, bundles, equalSplit(market)),
        [],
        `seed ${seed} ${market.id}`,
      );
    }
  }
});

Deno.test("symbiosis leaves no app preferring another app's bundle by more than 0.5 % (envy-free)", () => {
  for (const { seed, scenario } of scenarios(PROPERTY_SEEDS)) {
    for (const market of scenario.markets) {
      const { bundles } = symbiosis(market);
      assert.deepEqual(
        envyPairs(market, bundles, { tolerance: GUARANTEE_TOLERANCE }),
        [],
        `seed ${seed} ${market.id}`,
      );
    }
  }
});

Deno.test("symbiosis equilibria leave no wanted capacity unallocated or idle (Pareto, practical)", () => {
  let exact = 0;
  let total = 0;
  for (const { seed, scenario } of scenarios(PROPERTY_SEEDS)) {
    for (const market of scenario.markets) {
      total++;
      const result = symbiosis(market);
      if (!result.converged) {
        // Documented approximation: no exact equilibrium exists or was found; the result is
        // still feasible, fair (tests above) and explains itself.
        assert.match(result.note ?? "", /equilibrium/, `seed ${seed} ${market.id} explains itself`);
        continue;
      }
      exact++;
      assert.deepEqual(paretoGaps(market, result.bundles), [], `seed ${seed} ${market.id}`);
    }
  }
  // Most random markets (a quarter of the apps have cliff-shaped curves) have an exact equilibrium.
  assert.ok(exact / total > 0.6, `exact equilibria in ${exact} of ${total} markets`);
});

Deno.test("symbiosis reaches an exact equilibrium in most markets without cliff-shaped curves", () => {
  // Curves start at 256 MiB (flat below), so crowded small nodes still have a start-up
  // non-convexity; without it nearly every market has an exact equilibrium.
  let exact = 0;
  for (let seed = 1; seed <= 100; seed++) {
    const scenario = validateScenario(generateScenario(seed, {
      nodes: 1,
      appsPerNode: [1, 12],
      shapes: ["streaming", "exponential", "constant"],
    }));
    const market = scenario.markets[0] as NodeMarket;
    const result = symbiosis(market);
    if (result.converged) {
      exact++;
      assert.deepEqual(paretoGaps(market, result.bundles), [], `seed ${seed}`);
    }
  }
  assert.ok(exact >= 85, `exact equilibria in ${exact} of 100 markets`);
});

Deno.test("symbiosis is deterministic", () => {
  for (const { scenario } of scenarios(40)) {
    for (const market of scenario.markets) {
      assert.deepEqual(symbiosis(market), symbiosis(market));
    }
  }
});

Deno.test("symbiosis with unchanged inputs keeps the same allocation epoch after epoch", () => {
  for (const { seed, scenario } of scenarios(60)) {
    for (const market of scenario.markets) {
      let previous: NodeAllocation = symbiosis(market);
      const first = previous.bundles;
      for (let epoch = 2; epoch <= 4; epoch++) {
        const next = symbiosis(market, { previous });
        next.bundles.forEach((b, i) => {
          const p = first[i] as Bundle;
          assert.ok(
            Math.abs(b.cacheMiB - p.cacheMiB) <= 1e-3 * market.cacheMiB,
            `seed ${seed} epoch ${epoch} cache`,
          );
          assert.ok(
            Math.abs(b.bandwidthMbps - p.bandwidthMbps) <= 1e-3 * market.bandwidthMbps,
            `seed ${seed} epoch ${epoch} bandwidth`,
          );
        });
        previous = next;
      }
    }
  }
});

Deno.test("symbiosis bounds the movement per epoch when inputs change", () => {
  const market = validateScenario(
    generateScenario(7, { nodes: 1, appsPerNode: 6, shapes: ["streaming", "exponential"] }),
  )
    .markets[0] as NodeMarket;
  const before = symbiosis(market);
  const changed: NodeMarket = {
    ...market,
    apps: market.apps.map((app, i) =>
      i === 0 ? { ...app, model: buildModel({ kind: "constant", opsPerSec: 1000 }) } : app
    ),
  };
  const bounded = symbiosis(changed, { previous: before, maxMoveFraction: 0.1 });
  bounded.bundles.forEach((b, i) => {
    const p = before.bundles[i] as Bundle;
    assert.ok(Math.abs(b.cacheMiB - p.cacheMiB) <= 0.1 * market.cacheMiB + 1e-9);
    assert.ok(Math.abs(b.bandwidthMbps - p.bandwidthMbps) <= 0.1 * market.bandwidthMbps + 1e-9);
  });
  assert.equal(bounded.converged, false);
  // Repeated epochs reach the new equilibrium.
  let current = bounded;
  for (let k = 0; k < 20; k++) {
    current = symbiosis(changed, { previous: current, maxMoveFraction: 0.1 });
  }
  const target = symbiosis(changed);
  current.bundles.forEach((b, i) => {
    assert.ok(
      Math.abs(b.cacheMiB - (target.bundles[i] as Bundle).cacheMiB) <= 1e-3 * market.cacheMiB,
    );
  });
});

Deno.test("every policy keeps allocations within capacity and limits", () => {
  for (const { seed, scenario } of scenarios(24)) {
    for (const market of scenario.markets) {
      for (const name of POLICY_NAMES) {
        const result = POLICIES[name](market, {});
        assert.deepEqual(
          feasibilityProblems(market, result.bundles),
          [],
          `${name} seed ${seed} ${market.id}`,
        );
      }
    }
  }
});
