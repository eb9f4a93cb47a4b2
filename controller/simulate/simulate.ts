/**
 * `simulatePlaybook`: runs a playbook's real loop (the same session, estimator, market, records
 * and report as `spirit run`) against a simulated cluster in virtual time: an hour of 5 s
 * epochs takes seconds, and the same seed gives the same run.
 * @module
 */
import type { Playbook } from "../playbook/types.ts";
import { type OutputMode, runPlaybook } from "../run/run.ts";
import { SimWorld, type SimWorldOptions } from "./sim_world.ts";
import { VirtualClock } from "./virtual_clock.ts";

/** Options of {@linkcode simulatePlaybook}. */
export interface SimulateOptions extends Omit<SimWorldOptions, "clock"> {
  /** What the terminal shows (default silent). */
  output?: OutputMode;
  /** The wall time the run is dated at (default: now). */
  startWallMs?: number;
  /** Measures the loop's own work for the records' timings (default: performance.now). */
  stopwatch?: () => number;
  /** Aborting ends the run at the next epoch boundary (results so far are still written). */
  signal?: AbortSignal;
}

/** What a simulated run produced. */
export interface SimulationResult {
  /** The run directory (epochs.jsonl, events.jsonl, summary.json, report.html, ...). */
  runDir: string;
  epochs: number;
  interrupted: boolean;
  /** The simulated world after the run, for inspection. */
  world: SimWorld;
}

/**
 * Simulates a validated playbook; resolves with its run directory.
 * @example const { runDir } = await simulatePlaybook(playbook, { seed: 1 });
 */
export async function simulatePlaybook(
  playbook: Playbook,
  options: SimulateOptions = {},
): Promise<SimulationResult> {
  if (playbook.durationMs === null) {
    throw new RangeError(
      `Playbook ${playbook.name} runs until stopped; a simulation needs a duration (--duration)`,
    );
  }
  const clock = new VirtualClock(
    options.startWallMs === undefined ? {} : { startWallMs: options.startWallMs },
  );
  const world = new SimWorld(playbook, { ...options, clock });
  const result = await runPlaybook(playbook, {
    output: options.output ?? "silent",
    edges: world.edges(),
    ...(options.stopwatch === undefined ? {} : { stopwatch: options.stopwatch }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (result.runDir === null) throw new Error("The simulated run wrote no run directory");
  return { runDir: result.runDir, epochs: result.epochs, interrupted: result.interrupted, world };
}
