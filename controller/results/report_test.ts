import assert from "node:assert/strict";
import { syntheticEpochs } from "./_synthetic.ts";
import { loadChartLibraries } from "./chart_libraries.ts";
import { CHART_IDS, renderReport } from "./report.ts";
import { summarise } from "./summary.ts";
import type { RunEvent } from "./types.ts";

async function report(
  records = syntheticEpochs(6),
  events: RunEvent[] = [],
): Promise<string> {
  return renderReport({
    summary: summarise(records, { playbook: "p<&>" }),
    records,
    events,
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

Deno.test("renderReport replaces a chart without data by a note saying why", async () => {
  const html = await report(syntheticEpochs(4, { policy: "static", prices: false }));
  assert.doesNotMatch(html, /id="chart-prices"/);
  assert.match(html, /data-chart="chart-prices">No prices: this policy has none\./);
  assert.doesNotMatch(html, /"chart-prices":/);
});

Deno.test("renderReport lists marked events and leaves out the others", async () => {
  const html = await report(syntheticEpochs(4), [
    { time: "2026-01-01T00:00:07Z", kind: "phase", app: "kv", message: "phase kv -> stream" },
    { time: "2026-01-01T00:00:08Z", kind: "start", message: "run started" },
    {
      time: "2026-01-01T00:00:09Z",
      kind: "stop",
      app: "scan",
      message: "app exited by itself (exit status 0)",
      details: { exit: { code: 0, signal: null } },
    },
  ]);
  const events = html.slice(html.indexOf("<h2>Events</h2>"));
  assert.match(events, /phase \(kv\): phase kv -&#62; stream/);
  assert.match(events, /stop \(scan\): app exited by itself \(exit status 0\)/);
  assert.doesNotMatch(events, /run started/);
});

Deno.test("renderReport states the reference of the relative throughput", async () => {
  const html = await report();
  assert.match(
    html,
    /data-chart="chart-relative">Reference: the model&#39;s prediction at the equal split/,
  );
});
