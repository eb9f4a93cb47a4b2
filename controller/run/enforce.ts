/**
 * Enforcing the policy's targets on one compute node: every shrink first, then the grows that
 * fit in what no app holds in force (allocation_state.ts). Normally this is one request to the
 * node's agent (`set-allocations`: the shrinks, then the grows planned as if they were
 * applied, which the agent attempts only when every shrink was applied); a node with nothing
 * to change gets no request at all. When a shrink failed, the grows are planned again from
 * what is actually in force and sent in a second request. Each outcome goes to the allocation
 * state; a failed step leaves the app's allocation as it was, to be retried next epoch.
 * @module
 */
import type { AllocationStepOutcome } from "../../agent/protocol.ts";
import type { ResourceBytes } from "../auction/units.ts";
import type { AllocationState, EnforcementStep } from "./allocation_state.ts";

/** One step sent, and its error (null when it was applied). */
export interface EnforcementOutcome {
  app: string;
  allocation: ResourceBytes;
  error: string | null;
}

/** What became of one step of a batch: applied (null), failed, or not attempted. */
export type StepResult = { app: string; error: null } | {
  app: string;
  error: string;
  attempted: boolean;
};

/**
 * Sends one node's steps in one request: the shrinks, then (only when all were applied) the
 * grows; resolves with one result per step, shrinks first, in order. A failure to deliver the
 * request is a failed result for every step.
 */
export type ApplyBatch = (
  batch: { shrinks: EnforcementStep[]; grows: EnforcementStep[] },
) => Promise<StepResult[]>;

/** The results of a `set-allocations` answer (one per step, in order). */
export function stepResultsOf(outcomes: readonly AllocationStepOutcome[]): StepResult[] {
  return outcomes.map((o): StepResult =>
    o.applied ? { app: o.appId, error: null } : {
      app: o.appId,
      error: `${o.error.message} (${o.error.code})`,
      attempted: o.error.code !== "not-attempted",
    }
  );
}

/** How enforcement reaches a node. */
export interface NodeEnforcer {
  apply: ApplyBatch;
  /** Apps whose grow step is a relaunch (they are not running), and how to do it. */
  relaunches?: {
    has(app: string): boolean;
    /** Relaunches at `allocation`; rejects when it failed. */
    relaunch(app: string, allocation: ResourceBytes): Promise<void>;
  };
}

/** Why an app waits when its grow did not fit. */
export const WAITING_FOR_CAPACITY =
  "waiting for capacity still held in force by other apps (a failed shrink, an app that is down)";

/**
 * Enforces the state's requested allocations on `node` in epoch `epoch`; apps in `down` (app
 * name to reason) are left as they are. Never throws for a failed step: it is an outcome.
 */
export async function enforceNode(
  node: string,
  { state, enforcer, epoch, down }: {
    state: AllocationState;
    enforcer: NodeEnforcer;
    epoch: number;
    down: ReadonlyMap<string, string>;
  },
): Promise<EnforcementOutcome[]> {
  const skip = new Set(down.keys());
  const outcomes: EnforcementOutcome[] = [];
  const record = (step: EnforcementStep, error: string | null) => {
    if (error === null) state.applied(step.app, step.allocation, epoch);
    outcomes.push({ ...step, error });
  };
  const relaunching = (s: EnforcementStep) => enforcer.relaunches?.has(s.app) === true;
  const send = async (shrinks: EnforcementStep[], grows: EnforcementStep[]) => {
    const applied = grows.filter((s) => !relaunching(s));
    const steps = [...shrinks, ...applied];
    if (steps.length === 0) return true;
    const results = await enforcer.apply({ shrinks, grows: applied });
    let shrunk = true;
    steps.forEach((step, i) => {
      const result = results[i];
      const error = result === undefined || result.app !== step.app
        ? `the agent did not report on ${step.app}`
        : result.error;
      if (i < shrinks.length && error !== null) shrunk = false;
      // A grow left alone after a failed shrink is planned again below, not an outcome.
      if (result !== undefined && result.error !== null && !result.attempted) return;
      record(step, error);
    });
    return shrunk;
  };
  const relaunch = (grows: EnforcementStep[]) =>
    Promise.all(
      grows.filter(relaunching).map(async (step) => {
        try {
          await enforcer.relaunches?.relaunch(step.app, step.allocation);
        } catch (error) {
          record(step, (error as Error).message);
          return;
        }
        record(step, null);
      }),
    );
  const shrinks = state.shrinkSteps(node, { skip });
  const grows = state.growSteps(node, { skip, assuming: shrinks });
  if (await send(shrinks, grows)) {
    await relaunch(grows);
  } else {
    const fitting = state.growSteps(node, { skip });
    await send([], fitting);
    await relaunch(fitting);
  }
  for (const app of state.appsOf(node)) {
    const failure = outcomes.findLast((o) => o.app === app && o.error !== null)?.error;
    state.notApplied(
      app,
      down.get(app) ?? (failure === undefined ? WAITING_FOR_CAPACITY : `failed: ${failure}`),
    );
  }
  return outcomes;
}
