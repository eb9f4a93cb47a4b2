/**
 * Reads the finished run directories of a comparison into the data `aggregateComparison`
 * takes; a directory that cannot be read becomes a failed run that says why.
 * @module
 */
import { readEpochs, readEvents, readPlaybookJson } from "../results/read.ts";
import type { CompareRun } from "./aggregate.ts";
import type { RunData } from "./run_figures.ts";

/** Reads epochs.jsonl, events.jsonl and playbook.json of a run directory. */
export async function loadRun(runDir: string): Promise<RunData> {
  const epochs = await readEpochs(runDir);
  return {
    runDir,
    records: epochs.records,
    events: await readEvents(runDir),
    playbook: await readPlaybookJson(runDir),
    truncated: epochs.truncated,
  };
}

/** How one run of a comparison ended, as `spirit compare` knows it. */
export interface RunOutcome {
  policy: string;
  repetition: number;
  /** The run directory, when the run created one. */
  runDir: string | null;
  /** Why the run failed; absent when it finished. */
  error?: string;
}

/**
 * The comparison's view of one run: its data when it finished and its directory reads, else
 * a failure carrying the run's error (or why its directory could not be read).
 */
export async function loadCompareRun(outcome: RunOutcome): Promise<CompareRun> {
  const { policy, repetition, runDir } = outcome;
  const fail = (error: string): CompareRun => ({
    policy,
    repetition,
    runDir,
    result: { ok: false, error },
  });
  if (outcome.error !== undefined) return fail(outcome.error);
  if (runDir === null) return fail("the run produced no run directory");
  try {
    const data = await loadRun(runDir);
    if (!data.records.some((r) => r.phase === "measure")) {
      return fail(`${runDir} has no measured epoch (the run ended during warm-up)`);
    }
    return { policy, repetition, runDir, result: { ok: true, data } };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof SyntaxError) {
      return fail(`cannot read ${runDir}: ${(error as Error).message}`);
    }
    throw error;
  }
}
