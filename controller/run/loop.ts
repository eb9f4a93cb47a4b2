/**
 * The closed loop of a run: every epoch, sleep until its end, then heal, collect, decide,
 * enforce and record. Its edges are passed in (the session, the clock), so the same loop runs
 * against real hosts and in the simulator.
 * @module
 */
import process from "node:process";
import type { AppSample } from "../../agent/protocol.ts";
import type { ResourceBytes } from "../auction/units.ts";
import type { Playbook } from "../playbook/types.ts";
import { phaseChangeEvent } from "../results/timeline.ts";
import type { EpochRecord } from "../results/types.ts";
import type { AllocationState } from "./allocation_state.ts";
import type { Clock } from "./clock.ts";
import type { Decider } from "./decide.ts";
import { type ApplyBatch, enforceNode, type StepResult } from "./enforce.ts";
import { epochRecord } from "./epoch_record.ts";
import { type Emit, faultDetails } from "./events.ts";
import { PhaseWatch } from "./phase_watch.ts";
import type { RunPlan } from "./plan.ts";

/** What the loop needs from the run's processes (a RunSession). */
export interface LoopSession {
  heal(): Promise<void>;
  collect(): Promise<Map<string, AppSample[]>>;
  /** Sends one node's enforcement steps in one request (see enforce.ts). */
  setAllocations: (host: string, batch: Parameters<ApplyBatch>[0]) => Promise<StepResult[]>;
  /** Apps that are not running, and why. */
  down(): Map<string, string>;
  /** Apps whose process is gone: they hold no allocation until they are back. */
  away(): Set<string>;
  /** Apps to relaunch at the share enforcement gives them (see `relaunchAt`). */
  returning(): Set<string>;
  /** Relaunches a returning app at `allocation`; rejects (after reporting it) when it failed. */
  relaunchAt(app: string, allocation: ResourceBytes): Promise<void>;
  /**
   * How long before the last collection the newest sample of `app` in it reached the controller,
   * ms (absent: 0, samples are fetched at collection).
   */
  sampleAgeMs?(app: string): number;
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
  /** The process's CPU time in ms for the record's `cpuMs` (default: process.cpuUsage). */
  cpuTime?: () => number;
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

/** This process's CPU time (user and system), in ms. */
export function processCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/**
 * The first epoch boundary after `nowMs`. When an epoch's work ran past the end of the next
 * epoch too, that next epoch ends at the first boundary at least half an epoch away instead: a
 * stall (an unreachable host) never leaves a burst of empty epochs behind it.
 */
export function nextBoundaryMs(startedMs: number, epochMs: number, nowMs: number): number {
  return startedMs + (Math.floor((nowMs - startedMs) / epochMs) + 1) * epochMs;
}

/** Runs epochs until the playbook's duration is over or `signal` aborts. */
export async function runLoop(context: LoopContext): Promise<LoopResult> {
  const { playbook, plan, session, state, decider, clock, signal } = context;
  const stopwatch = context.stopwatch ?? (() => performance.now());
  const cpuTime = context.cpuTime ?? processCpuMs;
  const started = clock.now();
  const phases = new PhaseWatch();
  let boundary = started + playbook.epochMs;
  for (let epoch = 0;; epoch++) {
    await clock.sleep(boundary - clock.now(), signal);
    if (signal?.aborted) return { epochs: epoch, interrupted: true };
    const elapsedMs = clock.now() - started;
    const collectStart = stopwatch();
    const cpuStart = cpuTime();
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
        time: new Date(
          clock.wallTime() - change.agoMs - (session.sampleAgeMs?.(change.app) ?? 0),
        ).toISOString(),
      });
    }
    // What a gone app held is free for the others until it is back.
    const away = session.away();
    for (const app of away) state.release(app, epoch);
    const allocations = state.snapshot();
    const warmup = elapsedMs <= playbook.warmupMs;
    const decision = decider.decide({ epoch, warmup, samples, allocations, absent: away });
    state.request(decision.targets);
    const enforceStart = stopwatch();
    const down = session.down();
    const returning = session.returning();
    // A returning app's grow step is its relaunch, at what its node has free.
    const skip = new Map([...down].filter(([app]) => !returning.has(app)));
    const outcomes = (await Promise.all(plan.computes.map(async (compute) =>
      (await enforceNode(compute.host, {
        state,
        epoch,
        down: skip,
        enforcer: {
          apply: (batch) =>
            session.setAllocations(compute.host, batch),
          relaunches: {
            has: (app) => returning.has(app),
            relaunch: (app, allocation) => session.relaunchAt(app, allocation),
          },
        },
      })).map((outcome) => ({ ...outcome, host: compute.host }))
    ))).flat();
    const enforceMs = stopwatch() - enforceStart;
    const cpuMs = cpuTime() - cpuStart;
    for (const outcome of outcomes) {
      // A failed relaunch is reported by the session.
      if (outcome.error === null || returning.has(outcome.app)) {
        continue;
      }
      await context.emit({
        kind: "fault",
        host: outcome.host,
        app: outcome.app,
        message: `allocation not applied (retried next epoch): ${outcome.error}`,
        details: faultDetails("enforcement-failed", { allocation: outcome.allocation }),
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
        cpuMs,
      },
    }));
    if (
      playbook.durationMs !== null &&
      clock.now() - started >= playbook.durationMs - playbook.epochMs / 2
    ) {
      return { epochs: epoch + 1, interrupted: false };
    }
    boundary += playbook.epochMs;
    if (boundary <= clock.now()) {
      // At least half an epoch away, so that the next epoch has samples to show.
      boundary = nextBoundaryMs(started, playbook.epochMs, clock.now() + playbook.epochMs / 2);
    }
  }
}
