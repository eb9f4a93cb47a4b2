/**
 * Runs a comparison: the playbook once per policy and repetition, in the interleaved order of
 * `comparisonSchedule`, for real (`runPlaybook`) or in the simulator (`simulatePlaybook`); each
 * run's directory goes under `<outDir>/runs/`. Then it aggregates the runs that finished (a
 * failed run is listed with its error, the others are still compared) and writes compare.json,
 * compare.csv and compare.html into `outDir`.
 * @module
 */
import { join } from "node:path";
import type { Playbook, Policy } from "../playbook/types.ts";
import { runPlaybook } from "../run/run.ts";
import { simulatePlaybook } from "../simulate/simulate.ts";
import { aggregateComparison } from "./aggregate.ts";
import { loadCompareRun, type RunOutcome } from "./load.ts";
import { comparisonSchedule, REFERENCE_POLICY, type ScheduledRun } from "./schedule.ts";
import type { Comparison } from "./types.ts";
import { type ComparisonFiles, writeComparison } from "./write.ts";

/** Where the runs of a comparison keep their run directories, under its output directory. */
export const RUNS_SUBDIR = "runs";

/** One run as the comparison asks for it: the playbook with policy, seed and output set. */
export interface RunRequest extends ScheduledRun {
  playbook: Playbook;
  signal: AbortSignal;
}

/** What one run produced: its directory, and whether it was cut short. */
export interface RunDone {
  runDir: string | null;
  interrupted: boolean;
}

/** Runs one playbook (rejects when the run fails). */
export type RunOne = (request: RunRequest) => Promise<RunDone>;

/** A real run, reporting nothing on the terminal. */
export const realRun: RunOne = async ({ playbook, signal }) => {
  const result = await runPlaybook(playbook, { output: "silent", signal });
  return { runDir: result.runDir, interrupted: result.interrupted };
};

/** A simulated run (its noise seeded by the playbook's seed, set per repetition). */
export const simulatedRun: RunOne = async ({ playbook, signal }) => {
  const result = await simulatePlaybook(playbook, { seed: playbook.seed, signal });
  return { runDir: result.runDir, interrupted: result.interrupted };
};

/** Options of {@linkcode runComparison}. */
export interface CompareOptions {
  /** Policies in the order of the first repetition; static must be among them. */
  policies: readonly Policy[];
  repeat: number;
  outDir: string;
  /** How each run is made: `realRun`, `simulatedRun`, or a stand-in in tests. */
  runOne: RunOne;
  /** Aborting ends the current run early and skips the rest (what finished is compared). */
  signal?: AbortSignal;
  /** Progress lines (e.g. to stderr). */
  progress?: (line: string) => void;
  /** Measures wall time, ms (default performance.now). */
  stopwatch?: () => number;
}

/** What a comparison produced. */
export interface ComparisonResult {
  comparison: Comparison;
  files: ComparisonFiles;
  /** Every run in the order it ran, with its error when it failed. */
  outcomes: RunOutcome[];
  /** True when the comparison was stopped before every run finished. */
  interrupted: boolean;
}

async function entries(dir: string): Promise<Set<string>> {
  const names = new Set<string>();
  try {
    for await (const entry of Deno.readDir(dir)) if (entry.isDirectory) names.add(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

const messageOf = (error: unknown) => error instanceof Error ? error.message : String(error);

/**
 * Runs `playbook` once per policy and repetition and writes the comparison; see the module
 * documentation. Repetition r runs with the playbook's seed + r, whatever the policy.
 */
export async function runComparison(
  playbook: Playbook,
  options: CompareOptions,
): Promise<ComparisonResult> {
  if (!options.policies.includes(REFERENCE_POLICY)) {
    throw new RangeError(`A comparison needs the ${REFERENCE_POLICY} policy as its reference`);
  }
  const progress = options.progress ?? (() => {});
  const stopwatch = options.stopwatch ?? (() => performance.now());
  const runsDir = join(options.outDir, RUNS_SUBDIR);
  await Deno.mkdir(runsDir, { recursive: true });
  const schedule = comparisonSchedule(options.policies, options.repeat);
  const signal = options.signal ?? new AbortController().signal;
  const outcomes: RunOutcome[] = [];
  for (const [index, run] of schedule.entries()) {
    if (signal.aborted) break;
    const label = `run ${index + 1}/${schedule.length}: ${run.policy}, repetition ${
      run.repetition + 1
    }`;
    progress(`${label} ...`);
    const before = await entries(runsDir);
    const started = stopwatch();
    const request: RunRequest = {
      ...run,
      signal,
      playbook: {
        ...playbook,
        policy: run.policy,
        seed: playbook.seed + run.repetition,
        output: runsDir,
      },
    };
    const seconds = () => ((stopwatch() - started) / 1000).toFixed(1);
    try {
      const done = await options.runOne(request);
      outcomes.push({
        policy: run.policy,
        repetition: run.repetition,
        runDir: done.runDir,
        ...(done.interrupted ? { error: "interrupted before its duration was over" } : {}),
      });
      progress(
        `${label}: ${done.interrupted ? "interrupted" : "done"} in ${seconds()} s (${done.runDir})`,
      );
    } catch (error) {
      // The run may have created its directory before it failed: the new one is its.
      const created = [...await entries(runsDir)].filter((name) => !before.has(name));
      const runDir = created.length === 1 ? join(runsDir, created[0] as string) : null;
      outcomes.push({
        policy: run.policy,
        repetition: run.repetition,
        runDir,
        error: messageOf(error),
      });
      progress(`${label}: FAILED after ${seconds()} s: ${messageOf(error)}`);
    }
  }
  const runs = await Promise.all(outcomes.map(loadCompareRun));
  const comparison = aggregateComparison(runs, {
    playbook: playbook.name,
    policies: options.policies,
  });
  const files = await writeComparison(options.outDir, comparison);
  return { comparison, files, outcomes, interrupted: outcomes.length < schedule.length };
}

/**
 * Why a comparison has no result to show, or null when it has one: static and at least one
 * other policy must each have a finished run.
 */
export function missingResults(comparison: Comparison): string | null {
  const finished = (p: Comparison["policies"][number]) => p.repetitions > 0;
  const reference = comparison.policies.find((p) => p.policy === REFERENCE_POLICY);
  if (reference === undefined || !finished(reference)) {
    return `no run of ${REFERENCE_POLICY} finished, so there is no reference to compare with`;
  }
  const others = comparison.policies.filter((p) => p.policy !== REFERENCE_POLICY);
  if (others.length === 0) return `only ${REFERENCE_POLICY} was compared`;
  if (!others.some(finished)) {
    return `no run of ${others.map((p) => p.policy).join(", ")} finished`;
  }
  return null;
}
