/**
 * The closed loop of a run: every epoch, sleep until its end, then heal, collect, decide,
 * enforce and record. Its edges are passed in (the session, the clock), so the same loop runs
 * against real hosts and in the simulator.
 * @module
 */
import type { AppSample } from "../../agent/protocol.ts";
import type { ResourceBytes } from "../auction/units.ts";
import type { Playbook } from "../playbook/types.ts";
import { phaseChangeEvent } from "../results/timeline.ts";
import type { EpochRecord } from "../results/types.ts";
import type { AllocationState } from "./allocation_state.ts";
import type { Clock } from "./clock.ts";
import type { Decider } from "./decide.ts";
import { enforceNode } from "./enforce.ts";
import { epochRecord } from "./epoch_record.ts";
import type { Emit } from "./events.ts";
import { PhaseWatch } from "./phase_watch.ts";
import type { RunPlan } from "./plan.ts";

/** What the loop needs from the run's processes (a RunSession). */
export interface LoopSession {
  heal(): Promise<void>;
  collect(): Promise<Map<string, AppSample[]>>;
  setAllocation(app: string, allocation: ResourceBytes): Promise<void>;
  /** Apps that are not running, and why. */
  down(): Map<string, string>;
  /** Resolves once the events raised by agent messages so far are written. */
  settled(): Promise<void>;
}

/** Everything the loop works with. */
export interface LoopContext {
  playbook: Playbook;
  plan: RunPlan;
  session: LoopSession;
  state: AllocationState;
  decider: Decider;
  clock: Clock;
  /** Measures the loop's own work for the record's timings (default: performance.now). */
  stopwatch?: () => number;
  emit: Emit;
  /** Called with each epoch's record, in order. */
  record(record: EpochRecord): Promise<void>;
  /** Aborting ends the loop at the next epoch boundary. */
  signal?: AbortSignal;
}

/** How the loop ended. */
export interface LoopResult {
  epochs: number;
  interrupted: boolean;
}

/** Runs epochs until the playbook's duration is over or `signal` aborts. */
export async function runLoop(context: LoopContext): Promise<LoopResult> {
  const { playbook, plan, session, state, decider, clock, signal } = context;
  const stopwatch = context.stopwatch ?? (() => performance.now());
  const started = clock.now();
  const phases = new PhaseWatch();
  for (let epoch = 0;; epoch++) {
    await clock.sleep(started + (epoch + 1) * playbook.epochMs - clock.now(), signal);
    if (signal?.aborted) return { epochs: epoch, interrupted: true };
    const elapsedMs = clock.now() - started;
    const collectStart = stopwatch();
    await session.heal();
    const samples = await session.collect();
    const collectMs = stopwatch() - collectStart;
    for (const change of phases.observe(samples)) {
      const host = plan.computes.find((c) => c.apps.some((a) => a.name === change.app))?.host;
      await context.emit({
        ...phaseChangeEvent(change.app, {
          from: change.from,
          to: change.to,
          ...(host === undefined ? {} : { host }),
        }),
        time: new Date(clock.wallTime() - change.agoMs).toISOString(),
      });
    }
    const allocations = state.snapshot();
    const warmup = elapsedMs <= playbook.warmupMs;
    const decision = decider.decide({ epoch, warmup, samples, allocations });
    state.request(decision.targets);
    const enforceStart = stopwatch();
    const down = session.down();
    const outcomes = (await Promise.all(plan.computes.map(async (compute) =>
      (await enforceNode(compute.host, {
        state,
        epoch,
        down,
        apply: (app, allocation) =>
          session.setAllocation(app, allocation),
      })).map((outcome) => ({ ...outcome, host: compute.host }))
    ))).flat();
    const enforceMs = stopwatch() - enforceStart;
    for (const outcome of outcomes) {
      if (outcome.error === null) continue;
      await context.emit({
        kind: "fault",
        host: outcome.host,
        app: outcome.app,
        message: `allocation not applied (retried next epoch): ${outcome.error}`,
        details: { allocation: outcome.allocation },
      });
    }
    await session.settled();
    await context.record(epochRecord({
      epoch,
      wallTimeMs: clock.wallTime(),
      elapsedMs,
      warmup,
      policy: playbook.policy,
      plan,
      allocations,
      down,
      decision,
      timings: {
        collectMs,
        estimateMs: decision.estimateMs,
        auctionMs: decision.auctionMs,
        enforceMs,
      },
    }));
    if (
      playbook.durationMs !== null &&
      clock.now() - started >= playbook.durationMs - playbook.epochMs / 2
    ) return { epochs: epoch + 1, interrupted: false };
  }
}
