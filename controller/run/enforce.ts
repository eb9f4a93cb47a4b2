/**
 * Enforcing the policy's targets on one compute node, in two rounds: every shrink first (in
 * parallel), then the grows that fit in what no app holds in force (allocation_state.ts). Each
 * outcome goes to the allocation state; a failed step leaves the app's allocation as it was, to
 * be retried next epoch.
 * @module
 */
import type { ResourceBytes } from "../auction/units.ts";
import type { AllocationState, EnforcementStep } from "./allocation_state.ts";

/** One set-allocation sent, and its error (null when it was applied). */
export interface EnforcementOutcome {
  app: string;
  allocation: ResourceBytes;
  error: string | null;
}

/** Sends one allocation to an app's agent; rejects when it was not applied. */
export type ApplyAllocation = (app: string, allocation: ResourceBytes) => Promise<void>;

/** Why an app waits when its grow did not fit. */
export const WAITING_FOR_CAPACITY =
  "waiting for capacity still held in force by other apps (a failed shrink, an app that is down)";

/**
 * Enforces the state's requested allocations on `node` in epoch `epoch`; apps in `down` (app
 * name to reason) are left as they are. Never throws for a failed step: it is an outcome.
 */
export async function enforceNode(
  node: string,
  { state, apply, epoch, down }: {
    state: AllocationState;
    apply: ApplyAllocation;
    epoch: number;
    down: ReadonlyMap<string, string>;
  },
): Promise<EnforcementOutcome[]> {
  const skip = new Set(down.keys());
  const send = (steps: EnforcementStep[]) =>
    Promise.all(steps.map(async ({ app, allocation }): Promise<EnforcementOutcome> => {
      try {
        await apply(app, allocation);
      } catch (error) {
        return { app, allocation, error: (error as Error).message };
      }
      state.applied(app, allocation, epoch);
      return { app, allocation, error: null };
    }));
  const outcomes = await send(state.shrinkSteps(node, { skip }));
  outcomes.push(...await send(state.growSteps(node, { skip })));
  for (const app of state.appsOf(node)) {
    const failure = outcomes.findLast((o) => o.app === app && o.error !== null)?.error;
    state.notApplied(
      app,
      down.get(app) ?? (failure === undefined ? WAITING_FOR_CAPACITY : `failed: ${failure}`),
    );
  }
  return outcomes;
}
