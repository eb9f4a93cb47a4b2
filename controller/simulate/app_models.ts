/**
 * What a simulated app does: one or more phases, each a performance model of the `spirit
 * allocate` kinds (mrc, constant, grid; in MiB and Mbps), plus its footprint, noise and cache
 * warm-up. Built from a playbook app's workload kind, or from a model given for it (a scenario
 * file). Pure.
 *
 * Defaults, stated once (they mirror the spirit workloads on a 2-core machine, loopback TCP):
 * - `kv`: the LRU miss-ratio curve of its zipf keys laid out as workloads/kv.ts does
 *   (zipf_curve.ts); 10 µs per op in cache (100,000 ops/s), 200 µs per miss overlapped by its
 *   concurrency; a miss moves a 4 KiB page, plus its write-back for the writes' share.
 * - `stream`: every page access misses while the dataset exceeds the cache (one access per 512
 *   elements and array, 2.5 arrays per element, 40 % of pages written back), 0.2 µs per element
 *   in cache, 200 µs per miss: 28 bytes per element, bandwidth-bound.
 * - `phased`: kv on the first half of its dataset, stream on the second, on its schedule.
 * - a `command` app (an unmodified program): a working set as large as its node's cache, used
 *   uniformly (miss ratio 1 - cache / working set), 50,000 ops/s in memory, a major fault costing
 *   20 ops' time, half the pages written back to swap. Override it with a model per app.
 * @module
 */
import type { ModelSpec, MrcModelSpec } from "../auction/model.ts";
import { parseScenario } from "../auction/scenario.ts";
import { bytesOfMiB, curveInMiB, mibOfBytes } from "../auction/units.ts";
import type { App, ComputeHost, Playbook, Workload } from "../playbook/types.ts";
import { kvMissRatioCurve } from "./zipf_curve.ts";

/** One phase of a simulated app. */
export interface SimPhase {
  /** Throughput as a function of cache and bandwidth (MiB, Mbps). */
  model: ModelSpec;
  /** How long the phase lasts before the next one (phases loop); null: for ever. */
  durationMs: number | null;
  /** Share of remote traffic that is write-back (default 0). */
  writeShare?: number;
  /** What the phase is, for messages ("kv", "stream", ...). */
  label?: string;
}

/** A simulated app's behaviour. */
export interface SimAppSpec {
  phases: SimPhase[];
  /** Bytes the app touches in all: its cache never holds more (Infinity: whatever it gets). */
  footprintBytes: number;
  /** Relative throughput noise per sample (log-normal sigma; default 0.03). */
  noise?: number;
  /** The cache fills from remote traffic after it grows (default true); false: at once. */
  warmup?: boolean;
  /**
   * False for a cgroup app whose swap device the agent cannot account or throttle (as with a
   * device outside the node's swap devices): its swap counters stay 0 and its bandwidth is
   * not limited, so its traffic is not measurable (default true).
   */
  swapAccounted?: boolean;
  /** Where the behaviour comes from, for messages. */
  source: string;
}

/** Cost of one kv operation served from the cache, seconds. */
const KV_HIT_SECONDS = 10e-6;
/** Cost of fetching one page from the memory server, seconds. */
const MISS_SECONDS = 200e-6;
const PAGE_BYTES = 4096;
/** Stream: seconds per element in cache; page accesses per element; write-backs per access. */
const STREAM_ELEMENT_SECONDS = 0.2e-6;
const STREAM_ACCESSES_PER_ELEMENT = 2.5 / 512;
const STREAM_WRITEBACK_PER_ACCESS = 0.4;
/** Defaults of an unmodified program. */
const COMMAND_MAX_OPS = 50_000;
const COMMAND_LATENCY_RATIO = 20;
const COMMAND_WRITE_SHARE = 0.5;

function kvPhase(
  workload: { zipf: number; valueBytes: number; readRatio: number; concurrency: number },
  datasetBytes: number,
  durationMs: number | null,
): SimPhase {
  const writeBack = 1 - workload.readRatio;
  const model: MrcModelSpec = {
    kind: "mrc",
    missRatio: curveInMiB(kvMissRatioCurve({ ...workload, datasetBytes })),
    maxOpsPerSec: 1 / KV_HIT_SECONDS,
    latencyRatio: MISS_SECONDS / KV_HIT_SECONDS / workload.concurrency,
    pageBytes: PAGE_BYTES * (1 + writeBack),
  };
  return { model, durationMs, writeShare: writeBack / (1 + writeBack), label: "kv" };
}

function streamPhase(datasetBytes: number, durationMs: number | null): SimPhase {
  const datasetMiB = mibOfBytes(datasetBytes);
  const timePerOp = STREAM_ELEMENT_SECONDS + MISS_SECONDS * STREAM_ACCESSES_PER_ELEMENT;
  return {
    model: {
      kind: "mrc",
      // Sequential passes over more than the cache: every access misses until it all fits.
      missRatio: [[0, 1], [datasetMiB * 0.999, 1], [datasetMiB, 0]],
      maxOpsPerSec: 1 / STREAM_ELEMENT_SECONDS,
      latencyRatio: timePerOp / STREAM_ELEMENT_SECONDS - 1,
      pageBytes: PAGE_BYTES * STREAM_ACCESSES_PER_ELEMENT * (1 + STREAM_WRITEBACK_PER_ACCESS),
    },
    durationMs,
    writeShare: STREAM_WRITEBACK_PER_ACCESS / (1 + STREAM_WRITEBACK_PER_ACCESS),
    label: "stream",
  };
}

/** The simulated behaviour of one of spirit's far-memory workloads. */
export function workloadAppSpec(workload: Workload): SimAppSpec {
  switch (workload.kind) {
    case "kv":
      return {
        phases: [kvPhase(workload, workload.datasetBytes, null)],
        footprintBytes: workload.datasetBytes,
        source: `kv workload (zipf ${workload.zipf})`,
      };
    case "stream":
      return {
        phases: [streamPhase(workload.datasetBytes, null)],
        footprintBytes: workload.datasetBytes,
        source: "stream workload",
      };
    case "phased": {
      const half = Math.floor(workload.datasetBytes / 2);
      return {
        phases: workload.phases.map((phase) =>
          phase.kind === "kv"
            ? kvPhase(workload, half, phase.durationMs)
            : streamPhase(half, phase.durationMs)
        ),
        footprintBytes: workload.datasetBytes,
        source: `phased workload (${workload.phases.map((p) => p.kind).join(", ")})`,
      };
    }
  }
}

/** The stated default behaviour of an unmodified program on `host`. */
export function commandAppSpec(host: ComputeHost): SimAppSpec {
  const workingSetMiB = mibOfBytes(host.cacheBytes);
  return {
    phases: [{
      model: {
        kind: "mrc",
        missRatio: [[0, 1], [workingSetMiB, 0]],
        maxOpsPerSec: COMMAND_MAX_OPS,
        latencyRatio: COMMAND_LATENCY_RATIO,
        pageBytes: PAGE_BYTES,
      },
      durationMs: null,
      writeShare: COMMAND_WRITE_SHARE,
      label: "command",
    }],
    footprintBytes: host.cacheBytes,
    source: "default model of an unmodified program",
  };
}

/** The bytes an app given by `model` touches: an mrc curve's last cache size, else unbounded. */
export function footprintOf(model: ModelSpec): number {
  if (model.kind !== "mrc") return Infinity;
  const last = model.missRatio.at(-1);
  return last === undefined || last[0] <= 0 ? Infinity : bytesOfMiB(last[0]);
}

/** A steady app following `model`. */
export function modelAppSpec(model: ModelSpec, source: string): SimAppSpec {
  return {
    phases: [{ model, durationMs: null, label: model.kind }],
    footprintBytes: footprintOf(model),
    source,
  };
}

/** What to simulate for each app, by name, in playbook order. */
export function appSpecs(
  playbook: Playbook,
  overrides: Readonly<Record<string, SimAppSpec | ModelSpec>> = {},
): Map<string, SimAppSpec> {
  const unknown = Object.keys(overrides).filter((name) =>
    !playbook.apps.some((a) => a.name === name)
  );
  if (unknown.length > 0) {
    throw new RangeError(
      `Models given for apps the playbook ${playbook.name} does not have: ${
        unknown.join(", ")
      } (its apps: ${playbook.apps.map((a) => a.name).join(", ")})`,
    );
  }
  return new Map(playbook.apps.map((app) => [app.name, specOf(app, playbook, overrides)]));
}

function specOf(
  app: App,
  playbook: Playbook,
  overrides: Readonly<Record<string, SimAppSpec | ModelSpec>>,
): SimAppSpec {
  const given = overrides[app.name];
  if (given !== undefined) {
    return "phases" in given ? given : modelAppSpec(given, "a given model");
  }
  if (app.kind === "workload") return workloadAppSpec(app.workload);
  const host = playbook.hosts[app.host];
  if (host?.role !== "compute") {
    throw new RangeError(`App ${app.name}: no compute host ${app.host}`);
  }
  return commandAppSpec(host);
}

/**
 * The models of a scenario file (the `spirit allocate` format), by app id, for the apps of
 * `playbook` with those names. Throws naming the ids the playbook does not have.
 */
export function modelsFromScenario(text: string, playbook: Playbook): Record<string, ModelSpec> {
  const scenario = parseScenario(text);
  const models: Record<string, ModelSpec> = {};
  for (const market of scenario.markets) {
    for (const app of market.apps) models[app.id] = app.model.spec;
  }
  const unknown = Object.keys(models).filter((id) => !playbook.apps.some((a) => a.name === id));
  if (unknown.length > 0) {
    throw new RangeError(
      `The scenario's apps ${unknown.join(", ")} are not apps of playbook ${playbook.name} ` +
        `(its apps: ${playbook.apps.map((a) => a.name).join(", ")}); a scenario app's id must ` +
        `be the playbook app's name`,
    );
  }
  return models;
}
