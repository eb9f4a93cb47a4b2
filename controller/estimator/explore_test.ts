import assert from "node:assert/strict";
import { equalSplit } from "../auction/equal_split.ts";
import { type AppShape, generateScenario } from "../auction/generate.ts";
import type { Bundle, NodeMarket } from "../auction/market.ts";
import { validateScenario } from "../auction/scenario.ts";
import { type ExploreApp, MAX_EXPLORATION_LOSS, planExploration } from "./explore.ts";

/** Seeded nodes of 2-8 apps; `shapes` picks the (true) curve shapes. */
function markets(count: number, shapes: readonly AppShape[]): NodeMarket[] {
  return validateScenario(generateScenario(31, {
    nodes: count,
    appsPerNode: [2, 8],
    limits: "mixed",
    shapes,
  })).markets;
}

/** The planner's view of a node at its equal split, with or without the true models. */
function view(market: NodeMarket, { models }: { models: boolean }): ExploreApp[] {
  const equal = equalSplit(market);
  return market.apps.map((app, i) => ({
    id: app.id,
    limits: app.limits,
    current: equal[i] as Bundle,
    model: models ? app.model : null,
    uncertainty: models ? 0.5 : null,
    lastProbedEpoch: null,
    probes: 0,
  }));
}

const sum = (bundles: readonly Bundle[], good: keyof Bundle) =>
  bundles.reduce((a, b) => a + b[good], 0);

/** Runs `epochs` epochs of planning, feeding back who was probed; returns every plan. */
function simulate(
  apps: ExploreApp[],
  { epochs, warmup, uncertainty }: {
    epochs: number;
    warmup: (epoch: number) => boolean;
    uncertainty?: (app: ExploreApp, epoch: number) => number | null;
  },
) {
  const plans = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    if (uncertainty !== undefined) {
      for (const app of apps) app.uncertainty = uncertainty(app, epoch);
    }
    const plan = planExploration(apps, { epoch, warmup: warmup(epoch) });
    plans.push({ epoch, plan });
    const probed = apps.find((a) => a.id === plan.probe?.app);
    if (probed !== undefined) {
      probed.lastProbedEpoch = epoch;
      probed.probes++;
    }
  }
  return plans;
}

/** Each app's loss under the plan by its true model (hidden from the planner or not). */
function trueLosses(market: NodeMarket, apps: readonly ExploreApp[], bundles: readonly Bundle[]) {
  return bundles.map((b, i) => {
    const truth = market.apps[i]?.model;
    const from = (apps[i] as ExploreApp).current;
    if (truth === undefined) return 0;
    return 1 - truth.opsPerSec(b.cacheMiB, b.bandwidthMbps) /
        truth.opsPerSec(from.cacheMiB, from.bandwidthMbps);
  });
}

function assertBounded(label: string, losses: readonly number[]): void {
  const worst = Math.max(...losses);
  assert.ok(worst <= MAX_EXPLORATION_LOSS + 1e-9, `${label}: loses ${worst}`);
}

Deno.test("planExploration keeps node sums and app limits", () => {
  for (const market of markets(12, ["streaming", "exponential", "cliff", "constant"])) {
    const apps = view(market, { models: true });
    for (const { plan } of simulate(apps, { epochs: 24, warmup: () => true })) {
      for (const good of ["cacheMiB", "bandwidthMbps"] as const) {
        const before = sum(apps.map((a) => a.current), good);
        assert.ok(Math.abs(sum(plan.bundles, good) - before) <= 1e-9 * before, market.id);
      }
      plan.bundles.forEach((b, i) => {
        const l = (apps[i] as ExploreApp).limits;
        assert.ok(b.cacheMiB >= l.minCacheMiB - 1e-9 && b.cacheMiB <= l.maxCacheMiB + 1e-9);
        assert.ok(
          b.bandwidthMbps >= l.minBandwidthMbps - 1e-9 &&
            b.bandwidthMbps <= l.maxBandwidthMbps + 1e-9,
        );
      });
    }
  }
});

Deno.test("planExploration costs no app more than 5 % by its model's prediction", () => {
  let probes = 0;
  for (const market of markets(12, ["streaming", "exponential", "cliff", "constant"])) {
    const apps = view(market, { models: true });
    for (const { plan } of simulate(apps, { epochs: 24, warmup: () => true })) {
      if (plan.probe !== null) probes++;
      assertBounded(market.id, trueLosses(market, apps, plan.bundles));
    }
  }
  assert.ok(probes > 100, `${probes} probes`);
});

/** A node of apps whose throughput is concave in both goods (diminishing returns). */
function concaveMarket(apps: number): NodeMarket {
  const cacheAxis = [0, 256, 512, 1024, 2048, 4096];
  const bandwidthAxis = [0, 250, 500, 1000, 2000, 4000];
  const spec = {
    nodes: [{ id: "n", cacheMiB: 4096, bandwidthMbps: 4000 }],
    apps: Array.from({ length: apps }, (_, k) => ({
      id: `app${k}`,
      node: "n",
      model: {
        kind: "grid",
        cacheMiB: cacheAxis,
        bandwidthMbps: bandwidthAxis,
        opsPerSec: cacheAxis.map((c) =>
          bandwidthAxis.map((b) =>
            1e5 * (1 + k) * (0.2 + Math.sqrt(c / 4096)) * (0.1 + Math.sqrt(b / 4000))
          )
        ),
      },
    })),
  };
  return validateScenario(spec).markets[0] as NodeMarket;
}

Deno.test("planExploration without models costs programs with diminishing returns no more than 5 %", () => {
  let probes = 0;
  for (const n of [2, 3, 5, 8]) {
    const market = concaveMarket(n);
    const apps = view(market, { models: false });
    for (const { plan } of simulate(apps, { epochs: 24, warmup: () => true })) {
      if (plan.probe !== null) probes++;
      // The true models are hidden from the planner.
      assertBounded(`${n} apps`, trueLosses(market, apps, plan.bundles));
    }
  }
  assert.ok(probes >= 90, `${probes} probes`);
});

Deno.test("planExploration without models bounds bandwidth probes exactly for bandwidth-bound programs", () => {
  for (const market of markets(12, ["streaming", "exponential", "cliff"])) {
    const apps = view(market, { models: false });
    for (const { plan } of simulate(apps, { epochs: 24, warmup: () => true })) {
      if (plan.probe?.good !== "bandwidthMbps") continue;
      assertBounded(market.id, trueLosses(market, apps, plan.bundles));
    }
  }
});

Deno.test("planExploration probes every app needing it within its wait bound plus one round", () => {
  for (const market of markets(8, ["streaming", "exponential", "cliff"])) {
    const apps = view(market, { models: false });
    const n = apps.length;
    // Uneven uncertainties: the first app looks far less sure than the others.
    const plans = simulate(apps, {
      epochs: 60,
      warmup: () => true,
      uncertainty: (a) => a.id === apps[0]?.id ? 5 : 0.5,
    });
    for (const app of apps) {
      const epochs = plans.filter(({ plan }) => plan.probe?.app === app.id).map((p) => p.epoch);
      const gaps = [
        epochs[0] as number + 1,
        ...epochs.slice(1).map((e, k) => e - (epochs[k] as number)),
      ];
      assert.ok(epochs.length > 0, `${app.id} never probed`);
      assert.ok(Math.max(...gaps) <= 2 * n + n, `${app.id}: gaps ${gaps}`);
    }
    // The most uncertain app is probed most.
    const counts = apps.map((a) => plans.filter(({ plan }) => plan.probe?.app === a.id).length);
    assert.equal(Math.max(...counts), counts[0], `${market.id}: ${counts}`);
  }
});

Deno.test("planExploration stops probing as uncertainty falls, and probes rarely after warm-up", () => {
  const market = markets(1, ["exponential"])[0] as NodeMarket;
  const apps = view(market, { models: true });
  // Each probe halves an app's uncertainty: three probes each bring it to the threshold.
  const needed = 3 * apps.length;
  const warmup = 8;
  const plans = simulate(apps, {
    epochs: warmup + 4 * needed + 12,
    warmup: (epoch) => epoch < warmup,
    uncertainty: (a) => 0.8 / 2 ** a.probes,
  });
  const probed = plans.filter(({ plan }) => plan.probe !== null);
  assert.equal(probed.filter(({ epoch }) => epoch < warmup).length, warmup);
  for (const { epoch } of probed.filter(({ epoch }) => epoch >= warmup)) {
    assert.equal(epoch % 4, 0, `epoch ${epoch} probed after warm-up`);
  }
  assert.equal(probed.length, needed);
  assert.equal(plans.at(-1)?.plan.reason, "every model is certain");
});

Deno.test("planExploration leaves apps with unknown models alone", () => {
  for (const market of markets(6, ["exponential", "streaming"])) {
    const apps = view(market, { models: false });
    (apps[0] as ExploreApp).unknown = true;
    for (const { plan } of simulate(apps, { epochs: 16, warmup: () => true })) {
      assert.deepEqual(plan.bundles[0], (apps[0] as ExploreApp).current);
      assert.notEqual(plan.probe?.app, apps[0]?.id);
    }
  }
});

Deno.test("planExploration is deterministic and varies probe sizes from epoch to epoch", () => {
  const market = markets(1, ["exponential", "streaming"])[0] as NodeMarket;
  const first = simulate(view(market, { models: true }), { epochs: 20, warmup: () => true });
  const again = simulate(view(market, { models: true }), { epochs: 20, warmup: () => true });
  assert.deepEqual(first, again);
  const sizes = new Set(first.map(({ plan }) => plan.probe?.amount.toFixed(3)));
  assert.ok(sizes.size > 10, `${sizes.size} distinct probe sizes`);
});

Deno.test("planExploration probes the unobserved side of an app's cache first", () => {
  const market = concaveMarket(3);
  for (const side of ["above", "below"] as const) {
    const apps = view(market, { models: true }).map((a, i) =>
      i === 0
        ? {
          ...a,
          uncertainty: 0.6,
          unobserved: { below: side === "below", above: side === "above" },
        }
        : { ...a, uncertainty: 0.01 }
    );
    const { probe } = planExploration(apps, { epoch: 3, warmup: true });
    assert.equal(probe?.app, apps[0]?.id);
    assert.equal(probe?.good, "cacheMiB");
    assert.equal(probe?.direction, side === "above" ? 1 : -1);
  }
});

Deno.test("planExploration does not count a side an app cannot reach as uncertainty", () => {
  const market = concaveMarket(2);
  const apps = view(market, { models: true }).map((a) => ({
    ...a,
    // At its maximum, with only the side above unobserved: 0.05 + 0.25 for that side.
    current: { ...a.current, cacheMiB: a.limits.maxCacheMiB / 2 },
    limits: { ...a.limits, maxCacheMiB: a.limits.maxCacheMiB / 2 },
    uncertainty: 0.3,
    unobserved: { below: false, above: true },
  }));
  assert.equal(planExploration(apps, { epoch: 4, warmup: true }).reason, "every model is certain");
});
