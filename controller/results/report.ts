/**
 * report.html: a self-contained page (no network: the charting libraries and the data are
 * inlined, and a Content-Security-Policy forbids every fetch) with a summary table and
 * Vega-Lite charts of allocation, throughput (observed and predicted) and prices over time.
 * Pure, given the libraries' code.
 * @module
 */
import type { ChartLibrary } from "./chart_libraries.ts";
import type { EpochRecord, RunEvent, RunSummary } from "./types.ts";

/** Inputs of {@linkcode renderReport}. */
export interface ReportInput {
  summary: RunSummary;
  records: readonly EpochRecord[];
  events?: readonly RunEvent[];
  libraries: readonly ChartLibrary[];
}

/** Ids of the chart containers, in page order (tests look for them). */
export const CHART_IDS = [
  "chart-cache",
  "chart-bandwidth",
  "chart-throughput",
  "chart-prices",
] as const;

const CSP = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; " +
  "style-src 'unsafe-inline'; img-src data: blob:; font-src data:";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe to embed in a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function inlineScript(code: string): string {
  return code.replace(/<\/(script)/gi, "<\\/$1");
}

const fmt = (value: number | null, digits = 0) =>
  value === null || !Number.isFinite(value) ? "–" : value.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
const pct = (value: number | null) =>
  value === null || !Number.isFinite(value) ? "–" : `${(value * 100).toFixed(1)}%`;

/** Long-format rows for the charts. */
export function chartData(records: readonly EpochRecord[]) {
  const apps = records.flatMap((r) =>
    r.apps.map((a) => ({
      epoch: r.epoch,
      seconds: r.elapsedMs / 1000,
      phase: r.phase,
      app: a.name,
      host: a.host,
      cacheMiB: a.cacheMiB,
      bandwidthMbps: a.bandwidthMbps,
      usedCacheMiB: a.used.cacheMiB,
      observed: a.opsPerSec,
      predicted: a.predictedOpsPerSec,
    }))
  );
  const prices = records.flatMap((r) =>
    r.nodes.flatMap((n) =>
      n.prices === null ? [] : [
        {
          epoch: r.epoch,
          seconds: r.elapsedMs / 1000,
          host: n.host,
          resource: "cache",
          price: n.prices.cache,
        },
        {
          epoch: r.epoch,
          seconds: r.elapsedMs / 1000,
          host: n.host,
          resource: "bandwidth",
          price: n.prices.bandwidth,
        },
      ]
    )
  );
  return { apps, prices };
}

const X = { field: "seconds", type: "quantitative", title: "time (s)" } as const;

/** Time markers drawn on every chart: the warm-up span and faults. */
export function chartMarkers(records: readonly EpochRecord[], events: readonly RunEvent[]) {
  const warmup = records.filter((r) => r.phase === "warmup");
  const first = records[0];
  const startMs = first === undefined ? Number.NaN : Date.parse(first.time) - first.elapsedMs;
  const faults = events.flatMap((e) => {
    const seconds = (Date.parse(e.time) - startMs) / 1000;
    if (!["fault", "restart", "gap"].includes(e.kind) || !Number.isFinite(seconds)) return [];
    return [{
      seconds,
      label: `${e.kind}${e.app ? ` ${e.app}` : ""}${e.host ? ` on ${e.host}` : ""}: ${e.message}`,
    }];
  });
  const warmupEnd = warmup.at(-1)?.elapsedMs;
  return { warmupEndSeconds: warmupEnd === undefined ? null : warmupEnd / 1000, faults };
}

/** Adds the warm-up span (grey) and fault rules (red) as layers around a single-view spec. */
function withMarkers(
  spec: Record<string, unknown>,
  markers: ReturnType<typeof chartMarkers>,
): Record<string, unknown> {
  if (markers.warmupEndSeconds === null && markers.faults.length === 0) return spec;
  const { width, height, title, ...view } = spec;
  const layer: object[] = [];
  if (markers.warmupEndSeconds !== null) {
    layer.push({
      data: { values: [{ start: 0, end: markers.warmupEndSeconds, label: "warm-up" }] },
      mark: { type: "rect", color: "#888", opacity: 0.12 },
      encoding: {
        x: { field: "start", type: "quantitative" },
        x2: { field: "end" },
        tooltip: [{ field: "label" }],
      },
    });
  }
  layer.push(view);
  if (markers.faults.length > 0) {
    layer.push({
      data: { values: markers.faults },
      mark: { type: "rule", color: "#c33", strokeDash: [4, 3] },
      encoding: { x: { field: "seconds", type: "quantitative" }, tooltip: [{ field: "label" }] },
    });
  }
  return { width, height, title, layer };
}

/**
 * The Vega-Lite specs of the four charts, keyed by container id; the warm-up span and faults
 * from `events` are marked on each.
 */
export function chartSpecs(
  records: readonly EpochRecord[],
  events: readonly RunEvent[] = [],
): Record<typeof CHART_IDS[number], object> {
  const markers = chartMarkers(records, events);
  const specs = viewSpecs(records);
  return {
    "chart-cache": withMarkers(specs["chart-cache"], markers),
    "chart-bandwidth": withMarkers(specs["chart-bandwidth"], markers),
    "chart-throughput": withMarkers(specs["chart-throughput"], markers),
    "chart-prices": withMarkers(specs["chart-prices"], markers),
  };
}

function viewSpecs(
  records: readonly EpochRecord[],
): Record<typeof CHART_IDS[number], Record<string, unknown>> {
  const { apps, prices } = chartData(records);
  const base = { width: "container", height: 220, data: { values: apps } };
  const appColor = { field: "app", type: "nominal", title: "app" };
  const tooltip = [
    { field: "app" },
    { field: "host" },
    { field: "epoch" },
    { field: "cacheMiB", format: ",.0f" },
    { field: "bandwidthMbps", format: ",.0f" },
    { field: "observed", title: "ops/s", format: ",.0f" },
    { field: "predicted", title: "predicted ops/s", format: ",.0f" },
  ];
  return {
    "chart-cache": {
      ...base,
      title: "Cache allocation (MiB)",
      mark: { type: "line", point: true, interpolate: "step-after" },
      encoding: {
        x: X,
        y: { field: "cacheMiB", type: "quantitative", title: "cache (MiB)" },
        color: appColor,
        tooltip,
      },
    },
    "chart-bandwidth": {
      ...base,
      title: "Bandwidth allocation (Mbps)",
      mark: { type: "line", point: true, interpolate: "step-after" },
      encoding: {
        x: X,
        y: { field: "bandwidthMbps", type: "quantitative", title: "bandwidth (Mbps)" },
        color: appColor,
        tooltip,
      },
    },
    "chart-throughput": {
      ...base,
      title: "Throughput: observed (solid) and predicted by the model (dashed)",
      transform: [
        { fold: ["observed", "predicted"], as: ["series", "opsPerSec"] },
        { filter: "isValid(datum.opsPerSec)" },
      ],
      mark: { type: "line", point: true },
      encoding: {
        x: X,
        y: { field: "opsPerSec", type: "quantitative", title: "ops/s" },
        color: appColor,
        strokeDash: {
          field: "series",
          type: "nominal",
          title: "series",
          scale: { domain: ["observed", "predicted"], range: [[1, 0], [5, 3]] },
        },
        tooltip,
      },
    },
    "chart-prices": {
      width: "container",
      height: 220,
      data: { values: prices },
      title: prices.length === 0
        ? "Prices (this policy has none)"
        : "Clearing prices per node: cache (solid), bandwidth (dashed)",
      mark: { type: "line", point: true },
      encoding: {
        x: X,
        y: { field: "price", type: "quantitative", title: "price" },
        color: { field: "host", type: "nominal", title: "node" },
        strokeDash: {
          field: "resource",
          type: "nominal",
          title: "resource",
          scale: { domain: ["cache", "bandwidth"], range: [[1, 0], [5, 3]] },
        },
        tooltip: [{ field: "host" }, { field: "resource" }, { field: "epoch" }, {
          field: "price",
          format: ".4f",
        }],
      },
    },
  };
}

function summaryTable(summary: RunSummary): string {
  const rows = summary.apps.map((a) =>
    `<tr><td>${escapeHtml(a.name)}</td><td>${escapeHtml(a.host)}</td>` +
    `<td>${fmt(a.meanOpsPerSec)}</td><td>${fmt(a.meanCacheMiB)}</td><td>${
      fmt(a.meanBandwidthMbps)
    }</td>` +
    `<td>${fmt(a.baselineOpsPerSec)}${a.baselineSource === "model" ? " (model)" : ""}</td>` +
    `<td>${a.ratioToBaseline === null ? "–" : a.ratioToBaseline.toFixed(3)}</td>` +
    `<td>${pct(a.prediction.count === 0 ? null : a.prediction.meanAbsoluteRelativeError)}</td></tr>`
  ).join("\n");
  return `<table>
<thead><tr><th>app</th><th>host</th><th>mean ops/s</th><th>mean cache MiB</th><th>mean bandwidth Mbps</th>
<th>baseline ops/s</th><th>ratio to baseline</th><th>prediction error</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

/** Renders report.html. */
export function renderReport(input: ReportInput): string {
  const { summary, records } = input;
  const f = summary.fairness;
  const specs = chartSpecs(records, input.events ?? []);
  const faults = (input.events ?? []).filter((e) =>
    e.kind === "fault" || e.kind === "restart" || e.kind === "gap"
  );
  const libraries = input.libraries.map((l) =>
    `<script data-library="${escapeHtml(l.name)}@${escapeHtml(l.version)}">\n${
      inlineScript(l.code)
    }\n</script>`
  ).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>spirit report: ${escapeHtml(summary.playbook)} (${escapeHtml(summary.policy)})</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; } th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
.chart { width: 100%; margin: 1em 0; } .note { color: #a33; } .meta { color: #555; }
</style>
</head>
<body>
<h1>spirit run: ${escapeHtml(summary.playbook)}</h1>
<p class="meta">policy <b>${
    escapeHtml(summary.policy)
  }</b> · ${summary.measuredEpochs} measured epochs of ${summary.epochs}
· ${escapeHtml(summary.firstTime ?? "")} – ${escapeHtml(summary.lastTime ?? "")}
· mean auction time ${
    summary.meanAuctionMs === null ? "–" : `${summary.meanAuctionMs.toFixed(2)} ms`
  }</p>
${
    summary.truncated
      ? '<p class="note">The run was interrupted: the last line of epochs.jsonl was incomplete and was skipped.</p>'
      : ""
  }
<h2>Apps</h2>
${summaryTable(summary)}
<p>Fairness over ratios to the static baseline: Jain's index ${
    f.jainIndexOfRatios === null ? "–" : f.jainIndexOfRatios.toFixed(3)
  }, geometric mean ${
    f.geometricMeanRatio === null ? "–" : f.geometricMeanRatio.toFixed(3)
  }, minimum ${
    f.minRatio === null ? "–" : f.minRatio.toFixed(3)
  }. Prediction error over all apps: ${
    pct(summary.prediction.count === 0 ? null : summary.prediction.meanAbsoluteRelativeError)
  } mean, ${
    pct(summary.prediction.count === 0 ? null : summary.prediction.meanRelativeBias)
  } bias.</p>
<h2>Over time</h2>
${CHART_IDS.map((id) => `<div class="chart" id="${id}"></div>`).join("\n")}
${
    faults.length === 0
      ? ""
      : `<h2>Faults</h2>\n<ul>\n${
        faults.map((e) =>
          `<li>${escapeHtml(e.time)} ${escapeHtml(e.kind)}${
            e.host ? ` on ${escapeHtml(e.host)}` : ""
          }${e.app ? ` (${escapeHtml(e.app)})` : ""}: ${escapeHtml(e.message)}</li>`
        ).join("\n")
      }\n</ul>`
  }
${libraries}
<script id="spirit-specs" type="application/json">${scriptJson(specs)}</script>
<script>
(function () {
  var specs = JSON.parse(document.getElementById("spirit-specs").textContent);
  Object.keys(specs).forEach(function (id) {
    vegaEmbed("#" + id, specs[id], { actions: false, renderer: "svg" }).catch(function (error) {
      document.getElementById(id).textContent = "Chart failed: " + error;
    });
  });
})();
</script>
</body>
</html>
`;
}
