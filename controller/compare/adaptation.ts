/**
 * Adaptation time after a phase change: the time from the change until the app's allocation
 * stays within a band (5 % of the node's capacity, per resource) of its new steady state. The
 * steady state of a phase is the median allocation over its last epochs (3 by default): the
 * epochs that end after the change and no later than the app's next change (or the run's end).
 * The app has settled when every epoch from some point to the end of the phase, the whole
 * steady-state window included, is within the band. Pure.
 * @module
 */
import type { PhaseChange } from "../results/timeline.ts";
import type { EpochRecord } from "../results/types.ts";
import { median } from "./stats.ts";

/** Options of {@linkcode adaptationTimes}. */
export interface AdaptationOptions {
  /** Half-width of the band around the steady state, as a fraction of node capacity (0.05). */
  bandFraction?: number;
  /** Epochs at the end of a phase whose median allocation is its steady state (3). */
  steadyEpochs?: number;
}

/** How one app adapted to one phase change. */
export interface Adaptation {
  app: string;
  /** Seconds since the run started. */
  changeSec: number;
  to: string | null;
  source: PhaseChange["source"];
  /** Median allocation of the phase's last epochs; null when the phase was too short. */
  steady: { cacheMiB: number; bandwidthMbps: number } | null;
  /**
   * Seconds from the change to the start of the first epoch from which every epoch of the
   * phase is within the band (0 when the epoch of the change already was); null when not
   * settled (`reason` says why).
   */
  adaptationSec: number | null;
  /** Epochs from the one containing the change to the first settled one. */
  adaptationEpochs: number | null;
  /**
   * `too-short`: the phase has fewer epochs than the steady-state window; `unsettled`: the
   * allocation was not within the band over the whole window (it still moves or oscillates).
   */
  reason: "settled" | "too-short" | "unsettled";
}

/** The start of each record's epoch (ms since the run started): the previous record's end. */
function epochStarts(records: readonly EpochRecord[]): number[] {
  return records.map((r, i) => {
    const previous = records[i - 1];
    if (previous !== undefined) return previous.elapsedMs;
    const next = records[i + 1];
    return next === undefined ? 0 : Math.max(0, r.elapsedMs - (next.elapsedMs - r.elapsedMs));
  });
}

/**
 * The adaptation to each phase change, in the order of `changes`.
 * @example adaptationTimes(records, phaseChanges({ records, events, playbook }))
 */
export function adaptationTimes(
  records: readonly EpochRecord[],
  changes: readonly PhaseChange[],
  options: AdaptationOptions = {},
): Adaptation[] {
  const band = options.bandFraction ?? 0.05;
  const steadyEpochs = options.steadyEpochs ?? 3;
  if (!(band > 0) || !Number.isInteger(steadyEpochs) || steadyEpochs < 1) {
    throw new RangeError(
      `Adaptation needs bandFraction > 0 and steadyEpochs >= 1, got ${band} and ${steadyEpochs}`,
    );
  }
  const starts = epochStarts(records);
  return changes.map((change) => {
    const next = changes.find((c) => c.app === change.app && c.atMs > change.atMs)?.atMs ??
      Infinity;
    const phase = records.flatMap((r, i) => {
      const app = r.apps.find((a) => a.name === change.app);
      const node = app === undefined ? undefined : r.nodes.find((n) => n.host === app.host);
      if (app === undefined || node === undefined) return [];
      if (r.elapsedMs <= change.atMs || r.elapsedMs > next) return [];
      return [{ start: starts[i] as number, app, node }];
    });
    const base = {
      app: change.app,
      changeSec: change.atMs / 1000,
      to: change.to,
      source: change.source,
    };
    if (phase.length < steadyEpochs) {
      return {
        ...base,
        steady: null,
        adaptationSec: null,
        adaptationEpochs: null,
        reason: "too-short",
      };
    }
    const tail = phase.slice(-steadyEpochs);
    const steady = {
      cacheMiB: median(tail.map((e) => e.app.cacheMiB)) as number,
      bandwidthMbps: median(tail.map((e) => e.app.bandwidthMbps)) as number,
    };
    const within = (e: typeof phase[number]) =>
      Math.abs(e.app.cacheMiB - steady.cacheMiB) <= band * e.node.cacheMiB &&
      Math.abs(e.app.bandwidthMbps - steady.bandwidthMbps) <= band * e.node.bandwidthMbps;
    let first = phase.length;
    while (first > 0 && within(phase[first - 1] as typeof phase[number])) first--;
    if (phase.length - first < steadyEpochs) {
      return { ...base, steady, adaptationSec: null, adaptationEpochs: null, reason: "unsettled" };
    }
    const settledAtMs = Math.max(change.atMs, (phase[first] as typeof phase[number]).start);
    return {
      ...base,
      steady,
      adaptationSec: (settledAtMs - change.atMs) / 1000,
      adaptationEpochs: first,
      reason: "settled",
    };
  });
}
