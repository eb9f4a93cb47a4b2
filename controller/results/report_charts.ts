/**
 * The Vega-Lite charts of report.html: per node, each resource allocated (stacked per app)
 * against capacity, idle capacity in grey; each app's throughput relative to its static
 * reference; throughput observed and predicted (log scale); prediction error per app; prices.
 * Warm-up and events (faults, restarts, gaps, phase changes, app exits) are marked on every
 * time axis. Pure.
 * @module
 */
import { relativeError } from "../estimator/prediction.ts";
import { appRecordExtras } from "./record_extras.ts";
import {
  MARKER_CATEGORIES,
  type MarkerCategory,
  phaseChanges,
  type PhasedAppsSource,
  timelineMarkers,
} from "./timeline.ts";
import type { AppSummary, EpochRecord, RunEvent, RunSummary } from "./types.ts";

/** Ids of the chart containers, in page order. */
export const CHART_IDS = [
  "chart-nodes",
  "chart-relative",
  "chart-throughput",
  "chart-prediction-error",
  "chart-prices",
] as const;
/** One chart id. */
export type ChartId = typeof CHART_IDS[number];

/** The throughput an app's relative throughput is measured against. */
export interface AppReference {
  app: string;
  opsPerSec: number;
  /** The static baseline run's measured mean, or the model's prediction at the equal split. */
  source: "baseline-run" | "model";
}

/** The references of a summary's apps (apps without a baseline have none). */
export function referencesFromSummary(summary: RunSummary): AppReference[] {
  return summary.apps.flatMap((a: AppSummary) =>
    a.baselineOpsPerSec === null || a.baselineSource === null || a.baselineOpsPerSec <= 0
      ? []
      : [{ app: a.name, opsPerSec: a.baselineOpsPerSec, source: a.baselineSource }]
  );
}

/** Inputs of {@linkcode chartSpecs}. */
export interface ChartInput {
  records: readonly EpochRecord[];
  events?: readonly RunEvent[];
  references?: readonly AppReference[];
  /** playbook.json, for the phase changes of phased workloads that recorded no events. */
  playbook?: PhasedAppsSource | null;
}

/** One chart of the page: its spec, or why there is none. */
export interface Chart {
  id: ChartId;
  spec: object | null;
  /** A line shown under the chart (or in its place when `spec` is null). */
  note: string | null;
}

/** Colours of the apps, the same in every chart (Tableau 20). */
const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
  "#a0cbe8",
  "#ffbe7d",
  "#ff9d9a",
  "#8cd17d",
  "#b6992d",
  "#f1ce63",
  "#86bcb6",
  "#d37295",
  "#fabfd2",
  "#d4a6c8",
];
const IDLE = "idle";
const IDLE_COLOUR = "#e4e4e4";
const MARKER_COLOURS: Record<MarkerCategory, string> = {
  fault: "#c0392b",
  restart: "#e67e22",
  gap: "#7f8c8d",
  phase: "#2e86de",
  exit: "#8e44ad",
};

/** A colour scale giving each name a fixed palette colour (and idle its grey). */
export function colourScale(names: readonly string[]): { domain: string[]; range: string[] } {
  return {
    domain: [...names],
    range: names.map((n, i) => n === IDLE ? IDLE_COLOUR : PALETTE[i % PALETTE.length] as string),
  };
}

const X = { field: "seconds", type: "quantitative", title: "time (s)" } as const;

function appNames(records: readonly EpochRecord[]): string[] {
  const names: string[] = [];
  for (const r of records) for (const a of r.apps) if (!names.includes(a.name)) names.push(a.name);
  return names;
}

/** A marker on the time axis, as chart data. */
interface MarkerDatum {
  seconds: number;
  category: MarkerCategory;
  label: string;
}

interface Timeline {
  warmupEndSeconds: number | null;
  markers: MarkerDatum[];
}

/** The warm-up span and the marked events (and scheduled phase changes) of a run. */
export function timeline(input: ChartInput): Timeline {
  const { records } = input;
  const events = input.events ?? [];
  const markers: MarkerDatum[] = timelineMarkers(records, events).map((m) => ({
    seconds: m.seconds,
    category: m.category,
    label: m.label,
  }));
  for (const change of phaseChanges({ records, events, playbook: input.playbook ?? null })) {
    if (change.source !== "schedule") continue;
    markers.push({
      seconds: change.atMs / 1000,
      category: "phase",
      label: `phase ${change.app} -> ${change.to ?? "?"} (from the workload's schedule)`,
    });
  }
  const warmupEnd = records.filter((r) => r.phase === "warmup").at(-1)?.elapsedMs;
  return {
    warmupEndSeconds: warmupEnd === undefined ? null : warmupEnd / 1000,
    markers: markers.sort((a, b) => a.seconds - b.seconds),
  };
}

/** Layers a view (or views) between the warm-up span and the event rules. */
function onTimeline(
  frame: { title?: unknown; width: number | "container"; height: number },
  views: object[],
  line: Timeline,
  options: { legend?: boolean } = {},
): Record<string, unknown> {
  const layer: object[] = [];
  if (line.warmupEndSeconds !== null) {
    layer.push({
      data: { values: [{ start: 0, end: line.warmupEndSeconds, label: "warm-up" }] },
      mark: { type: "rect", color: "#888", opacity: 0.12 },
      encoding: {
        x: { field: "start", type: "quantitative" },
        x2: { field: "end" },
        tooltip: [{ field: "label" }],
      },
    });
  }
  layer.push(...views);
  if (line.markers.length > 0) {
    const present = MARKER_CATEGORIES.filter((c) => line.markers.some((m) => m.category === c));
    layer.push({
      data: { values: line.markers },
      mark: { type: "rule", strokeDash: [4, 3], strokeWidth: 1.5 },
      encoding: {
        x: { field: "seconds", type: "quantitative" },
        color: {
          field: "category",
          type: "nominal",
          title: "events",
          scale: { domain: present, range: present.map((c) => MARKER_COLOURS[c]) },
          ...(options.legend === false ? { legend: null } : {}),
        },
        tooltip: [{ field: "label", title: "event" }, { field: "seconds", format: ",.1f" }],
      },
    });
  }
  return { ...frame, layer, resolve: { scale: { color: "independent" } } };
}

/** A reference line across the chart at `y`. */
export function horizontalRule(y: number): object {
  return {
    data: { values: [{ y }] },
    mark: { type: "rule", color: "#222" },
    encoding: { y: { field: "y", type: "quantitative" } },
  };
}

const RESOURCES = [
  { key: "cacheMiB", name: "cache", unit: "MiB" },
  { key: "bandwidthMbps", name: "bandwidth", unit: "Mbps" },
] as const;

/** Per node and resource: allocation per app stacked under idle capacity, and the capacity. */
function nodesChart(input: ChartInput, line: Timeline, colours: ReturnType<typeof colourScale>) {
  const { records } = input;
  const hosts: string[] = [];
  for (const r of records) for (const n of r.nodes) if (!hosts.includes(n.host)) hosts.push(n.host);
  if (hosts.length === 0) return null;
  const rows = hosts.map((host) => ({
    hconcat: RESOURCES.map((resource, column) => {
      const legend = column === RESOURCES.length - 1;
      const stacked: object[] = [];
      const capacity: object[] = [];
      for (const r of records) {
        const node = r.nodes.find((n) => n.host === host);
        if (node === undefined) continue;
        const seconds = r.elapsedMs / 1000;
        const apps = r.apps.filter((a) => a.host === host);
        let allocated = 0;
        for (const a of apps) {
          allocated += a[resource.key];
          const extras = appRecordExtras(a);
          stacked.push({
            seconds,
            app: a.name,
            amount: a[resource.key],
            order: 0,
            requested: extras.requested?.[resource.key] ?? null,
            notApplied: extras.notApplied,
          });
        }
        const idle = Math.max(0, node[resource.key] - allocated);
        stacked.push({ seconds, app: IDLE, amount: idle, order: 1 });
        capacity.push({ seconds, capacity: node[resource.key], allocated });
      }
      const title = `${host}: ${resource.name} (${resource.unit})`;
      return onTimeline(
        { title, width: 380, height: 160 },
        [
          {
            data: { values: stacked },
            mark: { type: "area", interpolate: "step-before" },
            encoding: {
              x: X,
              y: {
                field: "amount",
                type: "quantitative",
                stack: "zero",
                title: `${resource.name} (${resource.unit})`,
              },
              color: {
                field: "app",
                type: "nominal",
                title: "app",
                scale: colours,
                ...(legend ? {} : { legend: null }),
              },
              order: { field: "order", type: "quantitative" },
              tooltip: [{ field: "app" }, { field: "seconds", format: ",.1f" }, {
                field: "amount",
                title: resource.unit,
                format: ",.1f",
              }],
            },
          },
          {
            data: { values: capacity },
            mark: { type: "line", color: "#222", strokeDash: [6, 3], interpolate: "step-before" },
            encoding: {
              x: X,
              y: { field: "capacity", type: "quantitative" },
              tooltip: [{ field: "capacity", format: ",.1f" }, {
                field: "allocated",
                format: ",.1f",
              }],
            },
          },
        ],
        line,
        { legend },
      );
    }),
  }));
  return {
    title: "Allocated versus capacity per node (stacked per app; grey: idle; dashed: capacity)",
    vconcat: rows,
  };
}

function describeReferences(references: readonly AppReference[], apps: readonly string[]) {
  const sources = new Set(references.map((r) => r.source));
  const missing = apps.filter((a) => !references.some((r) => r.app === a));
  const text = (source: AppReference["source"]) =>
    source === "baseline-run"
      ? "the static run's measured mean throughput"
      : "the model's prediction at the equal split (mean over the measured epochs)";
  const parts = sources.size === 1
    ? [`Reference: ${text([...sources][0] as AppReference["source"])}.`]
    : [
      `Reference per app: ${
        references.map((r) => `${r.app}: ${r.source === "baseline-run" ? "static run" : "model"}`)
          .join(", ")
      } (static run: ${text("baseline-run")}; model: ${text("model")}).`,
    ];
  if (missing.length > 0) parts.push(`No reference for ${missing.join(", ")}.`);
  return parts.join(" ");
}

/** The spec of every chart of a run, in page order; charts without data carry a note instead. */
export function chartSpecs(input: ChartInput): Chart[] {
  const { records } = input;
  const line = timeline(input);
  const apps = appNames(records);
  const colours = colourScale([...apps, IDLE]);
  const appColour = { field: "app", type: "nominal", title: "app", scale: colourScale(apps) };
  const frame = { width: "container" as const, height: 220 };
  const references = new Map((input.references ?? []).map((r) => [r.app, r]));

  const relative = records.flatMap((r) =>
    r.apps.flatMap((a) => {
      const ref = references.get(a.name);
      if (ref === undefined || a.opsPerSec === null) return [];
      return [{
        seconds: r.elapsedMs / 1000,
        app: a.name,
        ratio: a.opsPerSec / ref.opsPerSec,
        opsPerSec: a.opsPerSec,
        reference: ref.opsPerSec,
        source: ref.source === "baseline-run" ? "static run" : "model",
      }];
    })
  );
  const throughput = records.flatMap((r) =>
    r.apps.flatMap((a) =>
      [["observed", a.opsPerSec], ["predicted", a.predictedOpsPerSec]].flatMap(([series, ops]) =>
        typeof ops === "number" && ops > 0
          ? [{
            seconds: r.elapsedMs / 1000,
            epoch: r.epoch,
            app: a.name,
            host: a.host,
            series,
            opsPerSec: ops,
            model: a.model,
            down: appRecordExtras(a).down,
          }]
          : []
      )
    )
  );
  const errors = records.flatMap((r) =>
    r.apps.flatMap((a) => {
      const e = a.predictedOpsPerSec === null || a.opsPerSec === null
        ? null
        : relativeError(a.predictedOpsPerSec, a.opsPerSec);
      return e === null ? [] : [{
        seconds: r.elapsedMs / 1000,
        app: a.name,
        errorPercent: e * 100,
        predicted: a.predictedOpsPerSec,
        observed: a.opsPerSec,
        model: a.model,
      }];
    })
  );
  const prices = records.flatMap((r) =>
    r.nodes.flatMap((n) =>
      n.prices === null ? [] : (["cache", "bandwidth"] as const).map((resource) => ({
        seconds: r.elapsedMs / 1000,
        epoch: r.epoch,
        host: n.host,
        resource,
        price: n.prices?.[resource] ?? null,
      }))
    )
  );
  const clampErrors = errors.some((e) => Math.abs(e.errorPercent) > 100);
  const nodes = nodesChart(input, line, colours);

  return [
    {
      id: "chart-nodes",
      spec: nodes,
      note: nodes === null ? "No node records." : null,
    },
    {
      id: "chart-relative",
      spec: relative.length === 0 ? null : onTimeline(
        {
          ...frame,
          title: {
            text: "Throughput relative to the static reference (1 = as under the equal split)",
          },
        },
        [
          {
            data: { values: relative },
            mark: { type: "line", point: true },
            encoding: {
              x: X,
              y: { field: "ratio", type: "quantitative", title: "throughput / reference" },
              color: appColour,
              tooltip: [
                { field: "app" },
                { field: "seconds", format: ",.1f" },
                { field: "ratio", format: ".3f" },
                { field: "opsPerSec", title: "ops/s", format: ",.0f" },
                { field: "reference", title: "reference ops/s", format: ",.0f" },
                { field: "source", title: "reference" },
              ],
            },
          },
          horizontalRule(1),
        ],
        line,
      ),
      note: relative.length === 0
        ? "No reference throughput: no static baseline run was given and no app has a model."
        : describeReferences(input.references ?? [], apps),
    },
    {
      id: "chart-throughput",
      spec: throughput.length === 0 ? null : onTimeline(
        {
          ...frame,
          title: "Throughput: observed (solid) and predicted by the model (dashed), log scale",
        },
        [{
          data: { values: throughput },
          mark: { type: "line", point: true },
          encoding: {
            x: X,
            y: { field: "opsPerSec", type: "quantitative", title: "ops/s", scale: { type: "log" } },
            color: appColour,
            strokeDash: {
              field: "series",
              type: "nominal",
              title: "series",
              scale: { domain: ["observed", "predicted"], range: [[1, 0], [5, 3]] },
            },
            tooltip: [
              { field: "app" },
              { field: "host" },
              { field: "epoch" },
              { field: "series" },
              { field: "opsPerSec", title: "ops/s", format: ",.0f" },
              { field: "model" },
              { field: "down" },
            ],
          },
        }],
        line,
      ),
      note: throughput.length === 0 ? "No throughput was observed." : null,
    },
    {
      id: "chart-prediction-error",
      spec: errors.length === 0 ? null : onTimeline(
        {
          ...frame,
          title: "Prediction error per app: (predicted - observed) / observed",
        },
        [
          {
            data: { values: errors },
            mark: { type: "line", point: true, clip: true },
            encoding: {
              x: X,
              y: {
                field: "errorPercent",
                type: "quantitative",
                title: "error (%)",
                ...(clampErrors ? { scale: { domain: [-100, 100], clamp: true } } : {}),
              },
              color: appColour,
              tooltip: [
                { field: "app" },
                { field: "seconds", format: ",.1f" },
                { field: "errorPercent", title: "error %", format: ".1f" },
                { field: "predicted", format: ",.0f" },
                { field: "observed", format: ",.0f" },
                { field: "model" },
              ],
            },
          },
          horizontalRule(0),
        ],
        line,
      ),
      note: errors.length === 0
        ? "No predictions yet (no app had a model with an observation to compare)."
        : clampErrors
        ? "Errors beyond ±100 % are drawn at the edge (the tooltip has the value)."
        : null,
    },
    {
      id: "chart-prices",
      spec: prices.length === 0 ? null : onTimeline(
        { ...frame, title: "Clearing prices per node: cache (solid), bandwidth (dashed)" },
        [{
          data: { values: prices },
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
        }],
        line,
      ),
      note: prices.length === 0 ? "No prices: this policy has none." : null,
    },
  ];
}
