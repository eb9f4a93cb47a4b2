/**
 * report.html: a self-contained page (libraries and data inlined, no network) with the run's
 * summary table, its events, and the charts of report_charts.ts. Pure, given the libraries'
 * code.
 * @module
 */
import { baselineNote } from "./summary_text.ts";
import type { ChartLibrary } from "./chart_libraries.ts";
import {
  chartContainer,
  escapeHtml,
  formatNumber as fmt,
  formatPercent as pct,
  htmlPage,
} from "./html.ts";
import { chartSpecs, referencesFromSummary } from "./report_charts.ts";
import { eventCategory, type PhasedAppsSource } from "./timeline.ts";
import type { EpochRecord, RunEvent, RunSummary } from "./types.ts";

export { CHART_IDS } from "./report_charts.ts";

/** Inputs of {@linkcode renderReport}. */
export interface ReportInput {
  summary: RunSummary;
  records: readonly EpochRecord[];
  events?: readonly RunEvent[];
  /** playbook.json, for the schedules of phased workloads. */
  playbook?: PhasedAppsSource | null;
  libraries: readonly ChartLibrary[];
}

function summaryTable(summary: RunSummary): string {
  const rows = summary.apps.map((a) =>
    `<tr><td class="text">${escapeHtml(a.name)}</td><td class="text">${escapeHtml(a.host)}</td>` +
    `<td>${fmt(a.meanOpsPerSec)}</td><td>${fmt(a.meanCacheMiB)}</td><td>${
      fmt(a.meanBandwidthMbps)
    }</td>` +
    `<td>${fmt(a.baselineOpsPerSec)}${a.baselineSource === "model" ? " (model)" : ""}</td>` +
    `<td>${a.ratioToBaseline === null ? "–" : a.ratioToBaseline.toFixed(3)}</td>` +
    `<td>${pct(a.prediction.count === 0 ? null : a.prediction.meanAbsoluteRelativeError)}</td></tr>`
  ).join("\n");
  return `<table>
<thead><tr><th class="text">app</th><th class="text">host</th><th>mean ops/s</th><th>mean cache MiB</th><th>mean bandwidth Mbps</th>
<th>baseline ops/s</th><th>ratio to baseline</th><th>prediction error</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

function eventList(events: readonly RunEvent[]): string {
  const marked = events.filter((e) => eventCategory(e) !== null);
  if (marked.length === 0) return "";
  return `<h2>Events</h2>\n<ul>\n${
    marked.map((e) =>
      `<li>${escapeHtml(e.time)} ${escapeHtml(e.kind)}${e.host ? ` on ${escapeHtml(e.host)}` : ""}${
        e.app ? ` (${escapeHtml(e.app)})` : ""
      }: ${escapeHtml(e.message)}</li>`
    ).join("\n")
  }\n</ul>`;
}

function explorationSentence(summary: RunSummary): string {
  const e = summary.exploration;
  if (e === undefined || e.probeEpochs === 0) return "";
  return ` Exploration probed in ${e.probeEpochs} of ${summary.measuredEpochs} measured epochs, ` +
    `at a predicted cost of ${pct(e.meanExpectedLoss)} of throughput on average (at most ${
      pct(e.maxExpectedLoss)
    } in one epoch).`;
}

/** Renders report.html. */
export function renderReport(input: ReportInput): string {
  const { summary, records } = input;
  const events = input.events ?? [];
  const f = summary.fairness;
  const charts = chartSpecs({
    records,
    events,
    references: referencesFromSummary(summary),
    playbook: input.playbook ?? null,
  });
  const specs = Object.fromEntries(charts.flatMap((c) => c.spec === null ? [] : [[c.id, c.spec]]));
  const chartsHtml = charts.map((c) =>
    [
      c.spec === null ? "" : chartContainer(c.id),
      c.note === null ? "" : `<p class="legend" data-chart="${c.id}">${escapeHtml(c.note)}</p>`,
    ].filter((s) => s !== "").join("\n")
  ).join("\n");
  const body = `<h1>spirit run: ${escapeHtml(summary.playbook)}</h1>
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
<p>${escapeHtml(baselineNote(summary))}</p>
<p>Fairness over ratios to the static baseline: Jain's index ${
    f.jainIndexOfRatios === null ? "–" : f.jainIndexOfRatios.toFixed(3)
  }, geometric mean ${
    f.geometricMeanRatio === null ? "–" : f.geometricMeanRatio.toFixed(3)
  }, minimum ${
    f.minRatio === null ? "–" : f.minRatio.toFixed(3)
  }. Prediction error over all apps: ${
    pct(summary.prediction.count === 0 ? null : summary.prediction.meanAbsoluteRelativeError)
  } mean, ${
    pct(summary.prediction.count === 0 ? null : summary.prediction.medianAbsoluteRelativeError)
  } median, ${
    pct(summary.prediction.count === 0 ? null : summary.prediction.p90AbsoluteRelativeError)
  } 90th percentile, ${
    pct(summary.prediction.count === 0 ? null : summary.prediction.meanRelativeBias)
  } bias.${explorationSentence(summary)}</p>
<h2>Over time</h2>
<p class="legend">Grey band: warm-up. Dashed vertical rules: events (red fault, orange restart,
grey gap, blue phase change, purple app exit); hover for details.</p>
${chartsHtml}
${eventList(events)}`;
  return htmlPage({
    title: `spirit report: ${summary.playbook} (${summary.policy})`,
    body,
    specs,
    libraries: input.libraries,
  });
}
