/**
 * The agent's side of `set-allocations`: one node's enforcement in one request. Every shrink
 * is applied first, in parallel; the grows follow, in parallel, only when every shrink was
 * applied, because the controller plans them to fit in what the shrinks free. Shared by the
 * agent daemon and the simulated agent; the way one step is applied is passed in.
 * @module
 */
import type { AllocationStep, AllocationStepOutcome, SetAllocationsResult } from "./protocol.ts";

/** Applies one step; rejects (with an error carrying a `code`, else `internal`) when it failed. */
export type ApplyStep = (step: AllocationStep) => Promise<unknown>;

/** A step's outcome: applied when `error` is undefined. */
function outcome(
  appId: string,
  round: "shrink" | "grow",
  error?: unknown,
): AllocationStepOutcome {
  if (error === undefined) return { appId, round, applied: true };
  const code = typeof error === "object" && error !== null && "code" in error &&
      typeof error.code === "string"
    ? error.code
    : "internal";
  const message = typeof error === "object" && error !== null && "message" in error &&
      typeof error.message === "string"
    ? error.message
    : String(error);
  return { appId, round, applied: false, error: { code, message } };
}

/** The outcomes of grows left alone because a shrink of the same batch failed (or none). */
function afterShrinks(
  shrinks: readonly AllocationStepOutcome[],
  grows: readonly AllocationStep[],
): AllocationStepOutcome[] | null {
  const failed = shrinks.filter((o) => !o.applied).map((o) => o.appId);
  if (failed.length === 0) return null;
  return grows.map(({ appId }) =>
    outcome(appId, "grow", {
      code: "not-attempted",
      message: `not attempted: the shrink of ${failed.join(", ")} failed`,
    })
  );
}

async function applyRound(
  steps: readonly AllocationStep[],
  round: "shrink" | "grow",
  apply: ApplyStep,
): Promise<AllocationStepOutcome[]> {
  // An `apply` that throws at once fails its step, as one that rejects.
  const settled = await Promise.allSettled(steps.map(async (step) => await apply(step)));
  return settled.map((result, i) =>
    outcome(steps[i]?.appId ?? "", round, result.status === "rejected" ? result.reason : undefined)
  );
}

/** Applies `shrinks`, then (when all were applied) `grows`; one outcome per step, in order. */
export async function applyAllocationBatch(
  batch: { shrinks: readonly AllocationStep[]; grows: readonly AllocationStep[] },
  apply: ApplyStep,
): Promise<SetAllocationsResult> {
  const shrinks = await applyRound(batch.shrinks, "shrink", apply);
  const grows = afterShrinks(shrinks, batch.grows) ??
    await applyRound(batch.grows, "grow", apply);
  return { outcomes: [...shrinks, ...grows] };
}

/** {@linkcode applyAllocationBatch} with a synchronous `apply` that throws when a step failed. */
export function applyAllocationBatchSync(
  batch: { shrinks: readonly AllocationStep[]; grows: readonly AllocationStep[] },
  apply: (step: AllocationStep) => void,
): SetAllocationsResult {
  const round = (steps: readonly AllocationStep[], name: "shrink" | "grow") =>
    steps.map((step) => {
      try {
        apply(step);
      } catch (error) {
        return outcome(step.appId, name, error);
      }
      return outcome(step.appId, name);
    });
  const shrinks = round(batch.shrinks, "shrink");
  const grows = afterShrinks(shrinks, batch.grows) ?? round(batch.grows, "grow");
  return { outcomes: [...shrinks, ...grows] };
}
