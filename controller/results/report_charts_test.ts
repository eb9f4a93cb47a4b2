import assert from "node:assert/strict";
import { syntheticEpochs } from "./_synthetic.ts";
import { type Chart, CHART_IDS, chartSpecs, colourScale, timeline } from "./report_charts.ts";
import type { RunEvent } from "./types.ts";

type Layered = { layer: Array<{ data?: { values: Array<Record<string, unknown>> } }> };

function chart(charts: Chart[], id: string): Layered {
  const spec = charts.find((c) => c.id === id)?.spec;
  assert.ok(spec, `${id} has a spec`);
  return spec as Layered;
}

Deno.test("chartSpecs returns every chart id in page order", () => {
  assert.deepEqual(chartSpecs({ records: syntheticEpochs(3) }).map((c) => c.id), [...CHART_IDS]);
});

Deno.test("the nodes chart stacks each app's allocation under the idle capacity", () => {
  const records = syntheticEpochs(2);
  const first = records[0];
  assert.ok(first !== undefined);
  first.apps[0]!.cacheMiB = 100; // kv 100 + scan 256 of 512: 156 MiB idle
  const spec = chartSpecs({ records }).find((c) => c.id === "chart-nodes")?.spec as {
    vconcat: Array<{ hconcat: Layered[] }>;
  };
  assert.equal(spec.vconcat.length, 1);
  const [cache, bandwidth] = spec.vconcat[0]?.hconcat ?? [];
  const stacked = cache?.layer[0]?.data?.values.filter((v) => v.seconds === 5);
  assert.deepEqual(stacked?.map((v) => [v.app, v.amount]), [["kv", 100], ["scan", 256], [
    "idle",
    156,
  ]]);
  assert.deepEqual(cache?.layer[1]?.data?.values[0], { seconds: 5, capacity: 512, allocated: 356 });
  assert.equal(bandwidth?.layer[1]?.data?.values[0]?.capacity, 1000);
});

Deno.test("the nodes chart never shows negative idle capacity when a node is overcommitted", () => {
  const records = syntheticEpochs(1);
  records[0]!.apps[0]!.cacheMiB = 400; // 400 + 256 > 512
  const spec = chartSpecs({ records }).find((c) => c.id === "chart-nodes")?.spec as {
    vconcat: Array<{ hconcat: Layered[] }>;
  };
  const cache = spec.vconcat[0]?.hconcat[0];
  assert.equal(cache?.layer[0]?.data?.values.find((v) => v.app === "idle")?.amount, 0);
  assert.equal(cache?.layer[1]?.data?.values[0]?.allocated, 656);
});

Deno.test("relative throughput divides by each app's reference and says which it is", () => {
  const charts = chartSpecs({
    records: syntheticEpochs(2),
    references: [{ app: "kv", opsPerSec: 5_000, source: "baseline-run" }],
  });
  const values = chart(charts, "chart-relative").layer[0]?.data?.values ?? [];
  assert.deepEqual(values.map((v) => [v.app, v.ratio, v.source]), [
    ["kv", 2, "static run"],
    ["kv", 2.4, "static run"],
  ]);
  const note = charts.find((c) => c.id === "chart-relative")?.note ?? "";
  assert.match(note, /^Reference: the static run's measured mean throughput\./);
  assert.match(note, /No reference for scan\./);
});

Deno.test("relative throughput without any reference is replaced by a note", () => {
  const relative = chartSpecs({ records: syntheticEpochs(2) }).find((c) =>
    c.id === "chart-relative"
  );
  assert.equal(relative?.spec, null);
  assert.match(relative?.note ?? "", /No reference throughput/);
});

Deno.test("throughput folds observed and predicted, leaving out missing values", () => {
  const values = chart(chartSpecs({ records: syntheticEpochs(3) }), "chart-throughput").layer[0]
    ?.data?.values ?? [];
  // 3 epochs x 2 apps observed, predictions: kv 3, scan only from epoch 2.
  assert.equal(values.filter((v) => v.series === "observed").length, 6);
  assert.equal(values.filter((v) => v.series === "predicted").length, 4);
});

Deno.test("prediction error is (predicted - observed) / observed in percent, clamped past 100 %", () => {
  const records = syntheticEpochs(3);
  let charts = chartSpecs({ records });
  const values = chart(charts, "chart-prediction-error").layer[0]?.data?.values ?? [];
  // kv predicts 500 more than it does, scan 100 less (and nothing before epoch 2).
  assert.deepEqual(values.map((v) => [v.app, (v.errorPercent as number).toFixed(3)]), [
    ["kv", "5.000"],
    ["kv", "4.167"],
    ["kv", "3.571"],
    ["scan", "-4.167"],
  ]);
  assert.equal(charts.find((c) => c.id === "chart-prediction-error")?.note, null);
  records[2]!.apps[0]!.predictedOpsPerSec = 1e6;
  charts = chartSpecs({ records });
  assert.match(charts.find((c) => c.id === "chart-prediction-error")?.note ?? "", /±100 %/);
});

Deno.test("prices are listed per node and resource, and absent for policies without prices", () => {
  const values = chart(chartSpecs({ records: syntheticEpochs(3) }), "chart-prices").layer[0]?.data
    ?.values ?? [];
  assert.equal(values.length, 6);
  const none = chartSpecs({ records: syntheticEpochs(3, { prices: false }) });
  assert.equal(none.find((c) => c.id === "chart-prices")?.spec, null);
});

Deno.test("timeline marks the warm-up span, events and scheduled phase changes", () => {
  const events: RunEvent[] = [{
    time: "2026-01-01T00:00:12.500Z",
    kind: "fault",
    app: "kv",
    message: "died",
  }];
  const playbook = {
    apps: [{
      name: "scan",
      workload: {
        kind: "phased",
        phases: [{ kind: "stream", durationMs: 15_000 }, { kind: "kv", durationMs: 15_000 }],
      },
    }],
  };
  const line = timeline({ records: syntheticEpochs(4, { warmup: 2 }), events, playbook });
  assert.equal(line.warmupEndSeconds, 10);
  assert.deepEqual(line.markers.map((m) => [m.seconds, m.category]), [[12.5, "fault"], [
    15,
    "phase",
  ]]);
  const charts = chartSpecs({ records: syntheticEpochs(4, { warmup: 2 }), events, playbook });
  const layers = chart(charts, "chart-throughput").layer;
  assert.equal(layers.length, 3, "warm-up, view, events");
  assert.equal(layers[2]?.data?.values.length, 2);
});

Deno.test("colourScale gives each app the same colour and idle its grey", () => {
  const scale = colourScale(["a", "b", "idle"]);
  assert.deepEqual(scale.domain, ["a", "b", "idle"]);
  assert.equal(scale.range[2], "#e4e4e4");
  assert.notEqual(scale.range[0], scale.range[1]);
});
