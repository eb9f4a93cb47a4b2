/**
 * System test: report.html and compare.html render every chart in headless Chromium, offline,
 * without a Vega error or warning, with the expected number of marks per chart.
 * @module
 */
import assert from "node:assert/strict";
import { syntheticComparisonRuns } from "../controller/compare/_synthetic.ts";
import { aggregateComparison } from "../controller/compare/aggregate.ts";
import { COMPARE_CHART_IDS } from "../controller/compare/compare_report.ts";
import { writeComparison } from "../controller/compare/write.ts";
import { syntheticEpochs } from "../controller/results/_synthetic.ts";
import { rebuildReport } from "../controller/results/rebuild.ts";
import { CHART_IDS } from "../controller/results/report.ts";
import { type PageVerdict, renderedCharts } from "./fixtures/chart_verdict.ts";
import { commandOnPath, systemTest } from "./prereq.ts";

/** Asserts that every chart of `ids`, and only those, rendered without a message; their marks. */
function renderedMarks(verdict: PageVerdict, ids: readonly string[]) {
  assert.equal(verdict.done, "done");
  assert.deepEqual(verdict.messages, []);
  assert.deepEqual(Object.keys(verdict.charts), [...ids]);
  for (const [id, chart] of Object.entries(verdict.charts)) {
    assert.equal(chart.rendered, "ok", `${id}: ${chart.text}`);
  }
  return Object.fromEntries(Object.entries(verdict.charts).map(([id, c]) => [id, c.marks]));
}

systemTest(
  "report.html of an interrupted run renders every chart in headless Chromium",
  [commandOnPath("chromium")],
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "spirit_report_render_" });
    try {
      // 10 epochs of 5 s (2 of warm-up), apps kv and scan on node cn1; scan has no model
      // before epoch 2. A cut-off last line, one fault and one phase change.
      const lines = syntheticEpochs(10, { warmup: 2 }).map((r) => JSON.stringify(r) + "\n");
      await Deno.writeTextFile(`${dir}/epochs.jsonl`, lines.join("") + '{"v":1,"ep');
      const events = [
        { time: "2026-01-01T00:00:32Z", kind: "fault", app: "kv", message: "agent died" },
        { time: "2026-01-01T00:00:41Z", kind: "phase", app: "scan", message: "phase kv" },
      ];
      await Deno.writeTextFile(
        `${dir}/events.jsonl`,
        events.map((e) => JSON.stringify(e) + "\n").join(""),
      );
      const result = await rebuildReport(dir);
      assert.equal(result.truncatedLine, 11);
      const { verdict, dom } = await renderedCharts(result.reportPath);
      const marks = renderedMarks(verdict, CHART_IDS);
      // Every time chart: 1 warm-up rect, 2 event rules (fault, phase).
      assert.deepEqual(marks, {
        // Per resource panel: areas kv, scan, idle; the capacity line.
        "chart-nodes": { rect: 2, area: 6, line: 2, rule: 4 },
        // Lines kv, scan; 10 points each; the rule at 1.
        "chart-relative": { rect: 1, line: 2, symbol: 20, rule: 3 },
        // Lines observed and predicted per app; points: 20 observed, 10 + 8 predicted.
        "chart-throughput": { rect: 1, line: 4, symbol: 38, rule: 2 },
        // Lines kv, scan; points 10 + 8; the rule at 0.
        "chart-prediction-error": { rect: 1, line: 2, symbol: 18, rule: 3 },
        // Lines cache and bandwidth price; 10 points each.
        "chart-prices": { rect: 1, line: 2, symbol: 20, rule: 2 },
      });
      assert.match(dom, /The run was interrupted/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

systemTest(
  "compare.html renders every chart in headless Chromium",
  [commandOnPath("chromium")],
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "spirit_compare_render_" });
    try {
      // static, symbiosis and trade (2 + 2 + 1 finished runs) with apps kv and scan on cn1;
      // scan changes phase once per run.
      const comparison = aggregateComparison(syntheticComparisonRuns(), { playbook: "two" });
      const files = await writeComparison(dir, comparison);
      const { verdict, dom } = await renderedCharts(files.htmlPath);
      const marks = renderedMarks(verdict, COMPARE_CHART_IDS);
      assert.deepEqual(marks, {
        // 6 bars (3 policies x 2 apps), 4 intervals (trade has one run), 10 run dots, rule at 1.
        "chart-compare-ratio": { rect: 6, rule: 5, symbol: 10 },
        // Gain and worst ratio per policy; the rule at 1.
        "chart-compare-policies": { rect: 6, rule: 1 },
        // cn1 cache and bandwidth per policy: 6 used bars, 6 allocated ticks (Vega draws
        // ticks as rects).
        "chart-compare-nodes": { rect: 12 },
        // Mean (bar) and longest (tick) per policy.
        "chart-compare-adaptation": { rect: 6 },
      });
      assert.match(dom, /agent on cn1 exited/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
