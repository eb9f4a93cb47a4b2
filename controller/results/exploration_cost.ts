/**
 * What exploration cost a run, from its epoch records: per app, the epochs it was probed or
 * gave to (or took from) a probe, and the share of its throughput its model predicted it would
 * lose, averaged over the measured epochs (the long-run cost) and at its worst. Pure.
 * @module
 */
import type { AppEpochRecord, EpochRecord } from "./types.ts";

/** Exploration figures of one app, or of a whole run. */
export interface ExplorationCost {
  /** Epochs (app epochs, for a run) in which the app itself was probed. */
  probedEpochs: number;
  /** Epochs (app epochs) in which a probe moved the app's allocation at all. */
  affectedEpochs: number;
  /** Predicted share of throughput lost to probes, averaged over every measured epoch. */
  meanExpectedLoss: number;
  /** The largest predicted loss of one epoch. */
  maxExpectedLoss: number;
}

/** The cost over `rows`: one app's records of the measured epochs (or every app's, for a run). */
export function explorationCost(rows: readonly AppEpochRecord[]): ExplorationCost {
  const losses = rows.map((a) => a.probe?.expectedLoss ?? 0);
  return {
    probedEpochs: rows.filter((a) => a.probe?.role === "probed").length,
    affectedEpochs: rows.filter((a) => a.probe !== undefined).length,
    meanExpectedLoss: losses.length === 0 ? 0 : losses.reduce((a, b) => a + b, 0) / losses.length,
    maxExpectedLoss: losses.length === 0 ? 0 : Math.max(...losses),
  };
}

/** Measured epochs with a probe in force on some node. */
export function probeEpochs(records: readonly EpochRecord[]): number {
  return records.filter((r) => r.nodes.some((n) => n.probe != null)).length;
}
