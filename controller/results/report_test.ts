import assert from "node:assert/strict";
import { syntheticEpochs } from "./_synthetic.ts";
import { loadChartLibraries } from "./chart_libraries.ts";
import { CHART_IDS, chartMarkers, chartSpecs, renderReport } from "./report.ts";
import { summarise } from "./summary.ts";

async function report(): Promise<string> {
  const records = syntheticEpochs(6);
  return renderReport({
    summary: summarise(records, { playbook: "p<&>" }),
    records,
    events: [],
    libraries: await loadChartLibraries(),
  });
}

/** The page without the inlined libraries' code (whose strings mention URLs they never load). */
function withoutLibraries(html: string): string {
  return html.replace(
    /<script data-library=[^>]*>[^]*?<\/script>/g,
    "<script data-library></script>",
  );
}

Deno.test("loadChartLibraries reads the pinned minified builds of vega, vega-lite and vega-embed", async () => {
  const libraries = await loadChartLibraries();
  assert.deepEqual(libraries.map((l) => `${l.name}@${l.version}`), [
    "vega@6.4.0",
    "vega-lite@6.5.0",
    "vega-embed@7.3.0",
  ]);
  for (const l of libraries) assert.ok(l.code.length > 50_000, l.name);
});

Deno.test("renderReport inlines the three libraries and loads nothing from the network", async () => {
  const html = await report();
  assert.equal((html.match(/<script data-library=/g) ?? []).length, 3);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  const page = withoutLibraries(html);
  assert.doesNotMatch(page, /https?:\/\//);
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|<iframe|@import/i);
});

Deno.test("renderReport has a container for every chart and escapes text", async () => {
  const html = await report();
  for (const id of CHART_IDS) assert.match(html, new RegExp(`<div class="chart" id="${id}">`));
  assert.match(html, /spirit run: p&#60;&#38;&#62;/);
});

Deno.test("chartSpecs fold observed and predicted throughput and list prices per resource", () => {
  const specs = chartSpecs(syntheticEpochs(3)) as Record<string, { data: { values: unknown[] } }>;
  assert.equal(specs["chart-throughput"]?.data.values.length, 6);
  assert.equal(specs["chart-prices"]?.data.values.length, 6);
});

Deno.test("chartSpecs mark the warm-up span and faults as extra layers", () => {
  const records = syntheticEpochs(4, { warmup: 2 });
  const events = [{
    time: "2026-01-01T00:00:12.500Z",
    kind: "fault" as const,
    app: "kv",
    message: "died",
  }];
  assert.deepEqual(chartMarkers(records, events), {
    warmupEndSeconds: 10,
    faults: [{ seconds: 12.5, label: "fault kv: died" }],
  });
  const specs = chartSpecs(records, events) as Record<string, { layer?: unknown[] }>;
  assert.equal(specs["chart-cache"]?.layer?.length, 3);
  const plain = chartSpecs(syntheticEpochs(2)) as Record<string, { layer?: unknown[] }>;
  assert.equal(plain["chart-cache"]?.layer, undefined);
});
