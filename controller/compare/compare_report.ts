/**
 * compare.html: a self-contained page (libraries and data inlined, no network) with the
 * comparison's tables and charts: each app's throughput relative to static under every policy
 * (mean, 95 % interval and each repetition), the policies' gain and worst ratio, used and
 * allocated capacity per node, and adaptation time where the playbook changes phase. Pure,
 * given the libraries' code.
 * @module
 */
import type { ChartLibrary } from "../results/chart_libraries.ts";
import {
  chartContainer,
  escapeHtml,
  formatNumber as fmt,
  formatPercent as pct,
  htmlPage,
} from "../results/html.ts";
import { colourScale, horizontalRule } from "../results/report_charts.ts";
import type { Comparison, PolicyComparison } from "./types.ts";

/** Ids of the chart containers, in page order (adaptation only when a phase changed). */
export const COMPARE_CHART_IDS = [
  "chart-compare-ratio",
  "chart-compare-policies",
  "chart-compare-nodes",
  "chart-compare-adaptation",
] as const;
/** One chart id of compare.html. */
export type CompareChartId = typeof COMPARE_CHART_IDS[number];

/** A chart of layers, as wide as the page. */
function layered(title: string, height: number, layer: object[]): object {
  return { title, width: "container", height, layer };
}

/** Horizontal axis labels. */
const LEVEL = { labelAngle: 0 };

const ratio = (value: number | null | undefined, digits = 3) =>
  value === null || value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);

/** Per app and policy: the mean ratio, its interval, and every repetition's ratio. */
function ratioRows(comparison: Comparison) {
  const bars: object[] = [];
  const runs: object[] = [];
  for (const p of comparison.policies) {
    for (const a of p.apps) {
      if (a.ratioToStatic === null || a.meanOpsPerSec === null || a.meanOpsPerSec <= 0) continue;
      const reference = a.meanOpsPerSec / a.ratioToStatic;
      const half = a.ci95 === null ? null : a.ci95 / reference;
      bars.push({
        app: a.name,
        policy: p.policy,
        ratio: a.ratioToStatic,
        low: half === null ? null : a.ratioToStatic - half,
        high: half === null ? null : a.ratioToStatic + half,
        repetitions: a.repetitions,
        reference: a.ratioReference,
      });
      for (const [i, ops] of a.runOpsPerSec.entries()) {
        runs.push({ app: a.name, policy: p.policy, ratio: ops / reference, run: i + 1 });
      }
    }
  }
  return { bars, runs };
}

/** The Vega-Lite specs of compare.html, keyed by container id (charts without data left out). */
export function compareChartSpecs(comparison: Comparison): Partial<Record<CompareChartId, object>> {
  const policies = comparison.policies.map((p) => p.policy);
  const policyColour = {
    field: "policy",
    type: "nominal",
    title: "policy",
    scale: colourScale(policies),
  };
  const { bars, runs } = ratioRows(comparison);
  const specs: Partial<Record<CompareChartId, object>> = {};
  const one = horizontalRule(1);
  const offset = { field: "policy", type: "nominal", sort: policies };
  /** Bars per category on `x`, side by side per policy. */
  const policyBars = (values: object[], x: object, y: object, tooltip: object[]) => ({
    data: { values },
    mark: { type: "bar", opacity: 0.85 },
    encoding: { x, xOffset: offset, y, color: policyColour, tooltip },
  });
  if (bars.length > 0) {
    const x = { field: "app", type: "nominal", title: "app", sort: null, axis: LEVEL };
    specs["chart-compare-ratio"] = layered(
      "Throughput relative to static: mean (bar), 95 % interval (line), repetitions (dots)",
      260,
      [
        policyBars(
          bars,
          x,
          { field: "ratio", type: "quantitative", title: "throughput / static" },
          [
            { field: "app" },
            { field: "policy" },
            { field: "ratio", format: ".3f" },
            { field: "low", title: "95 % low", format: ".3f" },
            { field: "high", title: "95 % high", format: ".3f" },
            { field: "repetitions" },
            { field: "reference" },
          ],
        ),
        {
          data: { values: bars },
          transform: [{ filter: "isValid(datum.low)" }],
          mark: { type: "rule", color: "#222" },
          encoding: {
            x,
            xOffset: offset,
            y: { field: "low", type: "quantitative" },
            y2: { field: "high" },
          },
        },
        {
          data: { values: runs },
          mark: { type: "point", filled: true, color: "#222", size: 18 },
          encoding: {
            x,
            xOffset: offset,
            y: { field: "ratio", type: "quantitative" },
            tooltip: [{ field: "app" }, { field: "policy" }, { field: "run" }, {
              field: "ratio",
              format: ".3f",
            }],
          },
        },
        one,
      ],
    );
  }
  const summary = comparison.policies.flatMap((p) =>
    (
      [["geometric-mean gain", p.geoMeanGain], ["worst app's ratio", p.minRatio]] as const
    ).flatMap(([figure, value]) => value === null ? [] : [{ policy: p.policy, figure, value }])
  );
  if (summary.length > 0) {
    specs["chart-compare-policies"] = layered(
      "Per policy: geometric-mean gain over static and the worst app's ratio",
      220,
      [
        {
          data: { values: summary },
          mark: { type: "bar" },
          encoding: {
            x: { field: "policy", type: "nominal", sort: policies, title: "policy", axis: LEVEL },
            xOffset: { field: "figure", type: "nominal" },
            y: { field: "value", type: "quantitative", title: "ratio to static" },
            color: {
              field: "figure",
              type: "nominal",
              title: "figure",
              scale: { range: ["#4e79a7", "#e15759"] },
            },
            tooltip: [{ field: "policy" }, { field: "figure" }, { field: "value", format: ".3f" }],
          },
        },
        one,
      ],
    );
  }
  const nodes = comparison.policies.flatMap((p) =>
    p.nodes.flatMap((n) =>
      (["cache", "bandwidth"] as const).map((resource) => ({
        policy: p.policy,
        target: `${n.host} ${resource}`,
        used: n.utilisation[resource],
        allocated: n.allocated[resource],
      }))
    )
  );
  if (nodes.length > 0) {
    const x = {
      field: "target",
      type: "nominal",
      title: "node and resource",
      sort: null,
      axis: LEVEL,
    };
    specs["chart-compare-nodes"] = layered(
      "Capacity per node: used (bar) and allocated (tick), as fractions",
      220,
      [
        policyBars(
          nodes,
          x,
          {
            field: "used",
            type: "quantitative",
            title: "fraction of capacity",
            axis: { format: "%" },
          },
          [{ field: "target" }, { field: "policy" }, { field: "used", format: ".1%" }, {
            field: "allocated",
            format: ".1%",
          }],
        ),
        {
          data: { values: nodes },
          mark: { type: "tick", color: "#222", thickness: 2 },
          encoding: { x, xOffset: offset, y: { field: "allocated", type: "quantitative" } },
        },
      ],
    );
  }
  const adaptation = comparison.policies.flatMap((p) =>
    p.adaptation === undefined || p.adaptation.meanSec === null ? [] : [{
      policy: p.policy,
      meanSec: p.adaptation.meanSec,
      maxSec: p.adaptation.maxSec,
      settled: `${p.adaptation.settled} of ${p.adaptation.changes}`,
    }]
  );
  if (adaptation.length > 0) {
    const x = { field: "policy", type: "nominal", sort: policies, title: "policy", axis: LEVEL };
    specs["chart-compare-adaptation"] = layered(
      "Adaptation after a phase change: mean (bar) and longest (tick), seconds",
      200,
      [
        {
          data: { values: adaptation },
          mark: { type: "bar" },
          encoding: {
            x,
            y: { field: "meanSec", type: "quantitative", title: "seconds" },
            color: policyColour,
            tooltip: [{ field: "policy" }, { field: "meanSec", format: ".1f" }, {
              field: "maxSec",
              format: ".1f",
            }, { field: "settled", title: "settled changes" }],
          },
        },
        {
          data: { values: adaptation },
          mark: { type: "tick", color: "#222", thickness: 2 },
          encoding: { x, y: { field: "maxSec", type: "quantitative" } },
        },
      ],
    );
  }
  return specs;
}

function policyTable(policies: readonly PolicyComparison[]): string {
  const rows = policies.map((p) =>
    `<tr><td class="text">${escapeHtml(p.policy)}</td><td>${p.repetitions}${
      p.failures.length === 0 ? "" : ` (${p.failures.length} failed)`
    }</td><td>${ratio(p.geoMeanGain)}</td><td>${ratio(p.minRatio)}</td><td>${
      ratio(p.jainIndex)
    }</td><td class="text">${
      escapeHtml(p.sharingIncentive.violations.join(", ") || "none")
    }</td><td>${ratio(p.envy.meanPairsPerRun, 1)}</td><td>${pct(p.utilisation.cache)} / ${
      pct(p.utilisation.bandwidth)
    }</td><td>${pct(p.allocated.cache)} / ${pct(p.allocated.bandwidth)}</td><td>${
      pct(p.predictionError.meanAbsoluteRelativeError)
    }</td><td>${
      p.adaptation === undefined
        ? "–"
        : `${fmt(p.adaptation.meanSec, 1)} (${p.adaptation.settled}/${p.adaptation.changes})`
    }</td></tr>`
  ).join("\n");
  return `<table>
<thead><tr><th class="text">policy</th><th>runs</th><th>geo-mean gain</th><th>worst ratio</th><th>Jain's index</th>
<th class="text">SI violations</th><th>envy pairs / run</th><th>used cache / bw</th><th>allocated cache / bw</th>
<th>prediction error</th><th>adaptation s (settled)</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

function appTable(comparison: Comparison): string {
  const policies = comparison.policies;
  const names: string[] = [];
  for (const p of policies) for (const a of p.apps) if (!names.includes(a.name)) names.push(a.name);
  const rows = names.map((name) =>
    `<tr><td class="text">${escapeHtml(name)}</td>${
      policies.map((p) => {
        const a = p.apps.find((x) => x.name === name);
        if (a === undefined) return "<td>–</td><td>–</td>";
        const ci = a.ci95 === null ? "" : ` ± ${fmt(a.ci95)}`;
        return `<td>${fmt(a.meanOpsPerSec)}${ci}</td><td>${ratio(a.ratioToStatic)}${
          a.ratioReference === "model" ? " (model)" : ""
        }</td>`;
      }).join("")
    }</tr>`
  ).join("\n");
  return `<table>
<thead><tr><th class="text" rowspan="2">app</th>${
    policies.map((p) => `<th colspan="2">${escapeHtml(p.policy)}</th>`).join("")
  }</tr>
<tr>${policies.map(() => "<th>ops/s ± 95 %</th><th>ratio</th>").join("")}</tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

function runList(policies: readonly PolicyComparison[]): string {
  const items = policies.flatMap((p) => [
    ...p.runs.map((dir) => `<li>${escapeHtml(p.policy)}: <code>${escapeHtml(dir)}</code></li>`),
    ...p.failures.map((f) =>
      `<li class="note">${escapeHtml(p.policy)} repetition ${f.repetition + 1} failed${
        f.runDir === null ? "" : ` (<code>${escapeHtml(f.runDir)}</code>)`
      }: ${escapeHtml(f.error)}</li>`
    ),
  ]);
  return `<ul>\n${items.join("\n")}\n</ul>`;
}

/** Inputs of {@linkcode renderCompareReport}. */
export interface CompareReportInput {
  comparison: Comparison;
  libraries: readonly ChartLibrary[];
}

/** Renders compare.html. */
export function renderCompareReport(input: CompareReportInput): string {
  const { comparison } = input;
  const specs = compareChartSpecs(comparison);
  const failures = comparison.policies.reduce((n, p) => n + p.failures.length, 0);
  const models = comparison.policies.some((p) => p.apps.some((a) => a.ratioReference === "model"));
  const body = `<h1>spirit comparison: ${escapeHtml(comparison.playbook)}</h1>
<p class="meta">policies ${
    comparison.policies.map((p) => `<b>${escapeHtml(p.policy)}</b>`).join(", ")
  } · ${comparison.policies.reduce((n, p) => n + p.repetitions, 0)} finished runs${
    failures === 0 ? "" : ` · <span class="note">${failures} failed</span>`
  }</p>
${
    models
      ? '<p class="note">Some ratios are to the model\'s equal-split prediction (marked "model"): no finished static run had that app.</p>'
      : ""
  }
<h2>Policies</h2>
${policyTable(comparison.policies)}
<p class="legend">Gain and ratios are to the static policy's measured mean throughput; SI
violations: apps more than ${
    pct(comparison.policies[0]?.sharingIncentive.tolerance ?? 0.05)
  } below static; envy from each app's fitted model on the mean bundles held;
used and allocated capacity over all nodes, capacity-weighted. docs/compare.md defines each figure.</p>
<h2>Apps</h2>
${appTable(comparison)}
<h2>Charts</h2>
${Object.keys(specs).map(chartContainer).join("\n")}
<h2>Runs</h2>
${runList(comparison.policies)}`;
  return htmlPage({
    title: `spirit comparison: ${comparison.playbook}`,
    body,
    specs,
    libraries: input.libraries,
  });
}
