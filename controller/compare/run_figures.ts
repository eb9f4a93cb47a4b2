/**
 * The figures of one finished run that a comparison aggregates: the run's summary, how much
 * of each node's capacity was allocated and used, envy between the apps of a node (from their
 * fitted models and the bundles they held), prediction points and adaptation to phase
 * changes. Over the measured (not warm-up) epochs. Pure.
 * @module
 */
import { envyPairs } from "../auction/fairness.ts";
import type { AppLimits, Bundle, MarketApp, NodeMarket } from "../auction/market.ts";
import { buildModel, type ModelSpec } from "../auction/model.ts";
import { BYTES_PER_MIB, BYTES_PER_SEC_PER_MBPS } from "../../common/units.ts";
import type { PlaybookJson } from "../results/read.ts";
import { summarise } from "../results/summary.ts";
import { phaseChanges } from "../results/timeline.ts";
import type { EpochRecord, RunEvent, RunSummary } from "../results/types.ts";
import { type Adaptation, type AdaptationOptions, adaptationTimes } from "./adaptation.ts";
import { mean } from "./stats.ts";

/** A finished run as read from its directory (see load.ts). */
export interface RunData {
  runDir: string;
  records: readonly EpochRecord[];
  events: readonly RunEvent[];
  /** playbook.json as written by the run (read defensively), or null when missing. */
  playbook: PlaybookJson | null;
  /** epochs.jsonl ended in a cut-off line. */
  truncated: boolean;
}

/** Fractions of a node's capacity, per resource. */
export interface ResourceFractions {
  cache: number;
  bandwidth: number;
}

/** One node's mean use over the measured epochs. */
export interface NodeUse {
  host: string;
  cacheMiB: number;
  bandwidthMbps: number;
  /** Allocated to its apps / capacity. */
  allocated: ResourceFractions;
  /** Used by its apps (resident cache; remote read + write traffic) / capacity. */
  used: ResourceFractions;
}

/** Envy among one run's apps, evaluated with their fitted models. */
export interface RunEnvy {
  /** App `envious` would get more than the tolerance more from `envied`'s mean bundle. */
  pairs: Array<{ envious: string; envied: string; ratio: number }>;
  /** Apps without a fitted model at the end of the run (left out of the evaluation). */
  unevaluated: string[];
}

/** Options of {@linkcode runFigures}. */
export interface RunFiguresOptions {
  /** Relative gain from another's bundle that counts as envy (default 0.05). */
  envyTolerance?: number;
  adaptation?: AdaptationOptions;
}

/** Everything a comparison takes from one run. */
export interface RunFigures {
  runDir: string;
  summary: RunSummary;
  nodes: NodeUse[];
  /** Capacity-weighted over all nodes. */
  allocated: ResourceFractions;
  used: ResourceFractions;
  envy: RunEnvy;
  /** Per app: each measured epoch's prediction and observation. */
  predictions: Map<string, Array<{ predictedOpsPerSec: number; observedOpsPerSec: number }>>;
  adaptations: Adaptation[];
}

const MODEL_KINDS: ReadonlySet<string> = new Set(["mrc", "constant", "grid"]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The limits of `app` from playbook.json (bytes), in MiB and Mbps; the node's bounds if absent. */
function limitsOf(run: RunData, app: string, node: { cacheMiB: number; bandwidthMbps: number }) {
  const apps = Array.isArray(run.playbook?.apps) ? run.playbook.apps : [];
  const entry = apps.find((a) => isObject(a) && a.name === app);
  const limits = isObject(entry) && isObject(entry.limits) ? entry.limits : {};
  const read = (key: string, unit: number, fallback: number) =>
    typeof limits[key] === "number" ? (limits[key] as number) / unit : fallback;
  return {
    minCacheMiB: read("minCacheBytes", BYTES_PER_MIB, 0),
    maxCacheMiB: Math.min(node.cacheMiB, read("maxCacheBytes", BYTES_PER_MIB, node.cacheMiB)),
    minBandwidthMbps: read("minBandwidthBytesPerSec", BYTES_PER_SEC_PER_MBPS, 0),
    maxBandwidthMbps: Math.min(
      node.bandwidthMbps,
      read("maxBandwidthBytesPerSec", BYTES_PER_SEC_PER_MBPS, node.bandwidthMbps),
    ),
  } satisfies AppLimits;
}

function nodeUse(measured: readonly EpochRecord[]): NodeUse[] {
  const hosts: string[] = [];
  for (const r of measured) {
    for (const n of r.nodes) if (!hosts.includes(n.host)) hosts.push(n.host);
  }
  return hosts.map((host) => {
    const epochs = measured.flatMap((r) => {
      const node = r.nodes.find((n) => n.host === host);
      if (node === undefined) return [];
      const apps = r.apps.filter((a) => a.host === host);
      const sum = (f: (a: typeof apps[number]) => number) => apps.reduce((s, a) => s + f(a), 0);
      const fraction = (amount: number, capacity: number) => capacity > 0 ? amount / capacity : 0;
      return [{
        node,
        allocated: {
          cache: fraction(sum((a) => a.cacheMiB), node.cacheMiB),
          bandwidth: fraction(sum((a) => a.bandwidthMbps), node.bandwidthMbps),
        },
        used: {
          cache: fraction(sum((a) => a.used.cacheMiB), node.cacheMiB),
          bandwidth: fraction(
            sum((a) => a.used.remoteReadMbps + a.used.remoteWriteMbps),
            node.bandwidthMbps,
          ),
        },
      }];
    });
    const average = (f: (e: typeof epochs[number]) => number) => mean(epochs.map(f)) ?? 0;
    return {
      host,
      cacheMiB: average((e) => e.node.cacheMiB),
      bandwidthMbps: average((e) => e.node.bandwidthMbps),
      allocated: {
        cache: average((e) => e.allocated.cache),
        bandwidth: average((e) => e.allocated.bandwidth),
      },
      used: { cache: average((e) => e.used.cache), bandwidth: average((e) => e.used.bandwidth) },
    };
  });
}

/** Capacity-weighted fractions over all nodes. */
function overall(nodes: readonly NodeUse[], key: "allocated" | "used"): ResourceFractions {
  const weighted = (resource: "cache" | "bandwidth", capacity: (n: NodeUse) => number) => {
    const total = nodes.reduce((s, n) => s + capacity(n), 0);
    return total > 0 ? nodes.reduce((s, n) => s + n[key][resource] * capacity(n), 0) / total : 0;
  };
  return {
    cache: weighted("cache", (n) => n.cacheMiB),
    bandwidth: weighted("bandwidth", (n) => n.bandwidthMbps),
  };
}

/**
 * Envy per node: each app's last fitted model (from its last measured epoch with one) is
 * evaluated at its own mean bundle and at every neighbour's (clipped to its limits, as the
 * market would). Apps without a model are left out.
 */
function runEnvy(run: RunData, measured: readonly EpochRecord[], tolerance: number): RunEnvy {
  const pairs: RunEnvy["pairs"] = [];
  const unevaluated: string[] = [];
  const hosts = new Map<string, { cacheMiB: number; bandwidthMbps: number }>();
  for (const r of measured) for (const n of r.nodes) hosts.set(n.host, n);
  for (const [host, node] of hosts) {
    const names: string[] = [];
    for (const r of measured) {
      for (const a of r.apps) if (a.host === host && !names.includes(a.name)) names.push(a.name);
    }
    const apps: MarketApp[] = [];
    const bundles: Bundle[] = [];
    for (const name of names) {
      const rows = measured.flatMap((r) => r.apps.filter((a) => a.name === name));
      const spec = rows.findLast((a) =>
        a.modelSpec !== undefined && MODEL_KINDS.has(a.modelSpec.kind)
      )
        ?.modelSpec;
      if (spec === undefined) {
        unevaluated.push(name);
        continue;
      }
      apps.push({
        id: name,
        model: buildModel(spec as ModelSpec),
        limits: limitsOf(run, name, node),
      });
      bundles.push({
        cacheMiB: mean(rows.map((a) => a.cacheMiB)) ?? 0,
        bandwidthMbps: mean(rows.map((a) => a.bandwidthMbps)) ?? 0,
      });
    }
    const market: NodeMarket = { id: host, ...node, apps };
    pairs.push(...envyPairs(market, bundles, { tolerance }));
  }
  return {
    pairs: pairs.map((p) => ({ envious: p.envious, envied: p.envied, ratio: p.ratio })),
    unevaluated,
  };
}

/** The figures of one run. */
export function runFigures(run: RunData, options: RunFiguresOptions = {}): RunFigures {
  const measured = run.records.filter((r) => r.phase === "measure");
  const summary = summarise(run.records, {
    playbook: typeof run.playbook?.name === "string" ? run.playbook.name : run.runDir,
    truncated: run.truncated,
  });
  const nodes = nodeUse(measured);
  const predictions: RunFigures["predictions"] = new Map();
  for (const r of measured) {
    for (const a of r.apps) {
      if (a.predictedOpsPerSec === null || a.opsPerSec === null) continue;
      const list = predictions.get(a.name) ?? [];
      list.push({ predictedOpsPerSec: a.predictedOpsPerSec, observedOpsPerSec: a.opsPerSec });
      predictions.set(a.name, list);
    }
  }
  const changes = phaseChanges({
    records: run.records,
    events: run.events,
    playbook: run.playbook,
  });
  return {
    runDir: run.runDir,
    summary,
    nodes,
    allocated: overall(nodes, "allocated"),
    used: overall(nodes, "used"),
    envy: runEnvy(run, measured, options.envyTolerance ?? 0.05),
    predictions,
    adaptations: adaptationTimes(run.records, changes, options.adaptation),
  };
}
