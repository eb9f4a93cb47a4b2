import assert from "node:assert/strict";
import { loadChartLibraries } from "../results/chart_libraries.ts";
import { syntheticComparisonRuns } from "./_synthetic.ts";
import { aggregateComparison } from "./aggregate.ts";
import { COMPARE_CHART_IDS, compareChartSpecs, renderCompareReport } from "./compare_report.ts";

const comparison = () => aggregateComparison(syntheticComparisonRuns(), { playbook: "two<apps>" });

type Layered = { layer: Array<{ data: { values: Array<Record<string, unknown>> } }> };

Deno.test("compareChartSpecs draws every chart of a comparison with a phase change", () => {
  const specs = compareChartSpecs(comparison());
  assert.deepEqual(Object.keys(specs), [...COMPARE_CHART_IDS]);
});

Deno.test("the ratio chart has a bar per app and policy, its interval, and a dot per run", () => {
  const spec = compareChartSpecs(comparison())["chart-compare-ratio"] as Layered;
  const bars = spec.layer[0]?.data.values ?? [];
  assert.deepEqual(bars.map((b) => `${b.policy}/${b.app}`), [
    "static/kv",
    "static/scan",
    "symbiosis/kv",
    "symbiosis/scan",
    "trade/kv",
    "trade/scan",
  ]);
  const staticKv = bars[0];
  assert.equal(staticKv?.ratio, 1);
  // Static kv's two runs average 10,050 and 10,150 ops/s (s = 100 / sqrt 2): the interval is
  // ±t(0.975, 1) s / sqrt(2) = ±635.3 ops/s, ±0.0629 of the mean 10,100.
  const half = 12.706 * (100 / Math.SQRT2) / Math.SQRT2 / 10_100;
  assert.ok(Math.abs((staticKv?.high as number) - (1 + half)) < 1e-9, String(staticKv?.high));
  assert.ok(Math.abs((staticKv?.low as number) - (1 - half)) < 1e-9, String(staticKv?.low));
  const trade = bars.find((b) => b.policy === "trade" && b.app === "kv");
  assert.equal(trade?.low, null, "one finished run: no interval");
  assert.equal(spec.layer[2]?.data.values.length, 10, "one dot per finished run (5) and app");
});

Deno.test("compareChartSpecs leaves out the adaptation chart without phase changes", () => {
  const runs = syntheticComparisonRuns().map((r) =>
    r.result.ok
      ? { ...r, result: { ok: true as const, data: { ...r.result.data, events: [] } } }
      : r
  );
  const specs = compareChartSpecs(aggregateComparison(runs, { playbook: "p" }));
  assert.equal(specs["chart-compare-adaptation"], undefined);
  assert.ok(specs["chart-compare-ratio"]);
});

Deno.test("renderCompareReport has the tables, every chart container, and the failed run", async () => {
  const html = renderCompareReport({
    comparison: comparison(),
    libraries: await loadChartLibraries(),
  });
  assert.match(html, /<h1>spirit comparison: two&#60;apps&#62;<\/h1>/);
  for (const id of COMPARE_CHART_IDS) {
    assert.match(html, new RegExp(`<div class="chart" id="${id}">`));
  }
  assert.match(
    html,
    /trade repetition 2 failed \(<code>results\/two-trade-1<\/code>\): agent on cn1 exited/,
  );
  assert.match(html, /<td class="text">trade<\/td><td>1 \(1 failed\)<\/td>/);
  assert.match(html, /<td class="text">scan<\/td>/);
  const page = html.replace(/<script data-library=[^>]*>[^]*?<\/script>/g, "");
  assert.doesNotMatch(page, /https?:\/\//);
});
