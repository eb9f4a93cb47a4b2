/**
 * `runPlaybook`: wires a run together. The plan (built once), the run directory, the session
 * (hosts and processes), the allocation in force, the decider and the loop each live in their
 * own module; this one only connects them, and makes sure teardown runs and the results so far
 * are written however the run ends (duration over, Ctrl-C, SIGTERM, an error).
 * @module
 */
import type { Playbook } from "../playbook/types.ts";
import type { RecordSink } from "../results/types.ts";
import { RunWriter } from "../results/writer.ts";
import { AllocationState } from "./allocation_state.ts";
import { Decider } from "./decide.ts";
import { shippedFor } from "./deploy.ts";
import { realEdges, type RunEdges } from "./edges.ts";
import { type Emit, faultDetails } from "./events.ts";
import { newRunId } from "./ids.ts";
import { type LiveView, liveView } from "./live_view.ts";
import { runLoop } from "./loop.ts";
import { describePlan, planRun } from "./plan.ts";
import { RUN_INFO_FILE, runInfoFor } from "./run_info.ts";
import { RunSession } from "./session.ts";
import { StartError } from "./start_error.ts";

/** How a run reports progress on the terminal (`silent`: not at all). */
export type OutputMode = "live" | "quiet" | "json" | "silent";

/** Options of `runPlaybook`. */
export interface RunOptions {
  dryRun?: boolean;
  output?: OutputMode;
  /** Aborting ends the run early (results so far are still written). */
  signal?: AbortSignal;
  /** The run's edges (hosts, runtime, clock); default the real ones. */
  edges?: Partial<RunEdges>;
  /** Measures the loop's own work for the records' timings (default: performance.now). */
  stopwatch?: () => number;
  /** Also receive every epoch and event written (e.g. the live metrics). */
  sinks?: readonly RecordSink[];
}

/** What a run produced. */
export interface RunResult {
  runDir: string | null;
  epochs: number;
  interrupted: boolean;
}

/**
 * How long the session waits for an agent's samples or a re-attachment before the epoch goes
 * on without that host: the epoch length, within 2 to 10 s.
 */
export function responseTimeoutMs(epochMs: number): number {
  return Math.min(10_000, Math.max(2_000, epochMs));
}

/** Runs a validated playbook; see the module documentation. */
export async function runPlaybook(
  playbook: Playbook,
  options: RunOptions = {},
): Promise<RunResult> {
  const edges: RunEdges = {
    ...realEdges({ sshMaxParallel: playbook.ssh.maxParallel }),
    ...options.edges,
  };
  const { clock } = edges;
  const plan = planRun(playbook, newRunId(playbook.name, clock.wallTime()));
  if (options.dryRun) {
    console.log(describePlan(playbook, plan, { shipped: await shippedFor(playbook) }));
    return { runDir: null, epochs: 0, interrupted: false };
  }
  const writer = await RunWriter.create(playbook, {
    now: new Date(clock.wallTime()),
    sinks: options.sinks ?? [],
  });
  const info = runInfoFor(plan.runId, {
    playbook: playbook.name,
    startedAt: new Date(clock.wallTime()).toISOString(),
  });
  await Deno.writeTextFile(`${writer.dir}/${RUN_INFO_FILE}`, JSON.stringify(info, null, 2) + "\n");
  const view = liveView(playbook, { mode: options.output ?? "live", runDir: writer.dir });
  const emit: Emit = (e) => {
    view.event(e);
    return writer.event({ time: new Date(clock.wallTime()).toISOString(), ...e });
  };
  const state = new AllocationState(plan);
  const session = new RunSession(playbook, plan, {
    edges,
    emit,
    allocationOf: (app) => state.isReleased(app) ? null : state.inForce(app),
    wallTime: () => clock.wallTime(),
    responseTimeoutMs: responseTimeoutMs(playbook.epochMs),
    maxParallel: playbook.ssh.maxParallel,
    ...(options.stopwatch === undefined ? {} : { stopwatch: options.stopwatch }),
  });
  let result = { epochs: 0, interrupted: false };
  try {
    await session.start();
    await emit({ kind: "start", message: `run ${plan.runId} started` });
    result = await runLoop({
      playbook,
      plan,
      session,
      state,
      decider: new Decider(plan, {
        policy: playbook.policy,
        epochMs: playbook.epochMs,
        ...(options.stopwatch === undefined ? {} : { stopwatch: options.stopwatch }),
      }),
      clock,
      ...(options.stopwatch === undefined ? {} : { stopwatch: options.stopwatch }),
      emit,
      record: async (record) => {
        await writer.writeEpoch(record);
        view.epoch(record);
      },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    await emit({
      kind: "fault",
      message: (error as Error).message,
      details: faultDetails(error instanceof StartError ? "start-failed" : "run-failed"),
    }).catch(() => undefined);
    throw error;
  } finally {
    if (result.interrupted) {
      await emit({ kind: "stop", message: "interrupted: tearing down" }).catch(() => undefined);
    }
    await session.teardown();
    const { summary } = await writer.finish();
    view.done({ runDir: writer.dir, summary });
  }
  return { runDir: writer.dir, ...result };
}

export type { LiveView };
