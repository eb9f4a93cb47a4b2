/**
 * For tests: a node enforcer that applies each step with a given function, under the real
 * agent's batch rules (agent/allocation_batch.ts), and lists the apps it was asked to change.
 * @module
 */
import { applyAllocationBatch } from "../../agent/allocation_batch.ts";
import type { EnforcementStep } from "./allocation_state.ts";
import { type NodeEnforcer, stepResultsOf } from "./enforce.ts";

/** An enforcer whose steps succeed unless `apply` rejects; `sent` lists every step tried. */
export function agentEnforcer(
  apply: (app: string) => Promise<void> = () => Promise.resolve(),
): NodeEnforcer & { sent: string[]; requests: number } {
  const toAgent = (steps: EnforcementStep[]) =>
    steps.map(({ app, allocation }) => ({ appId: app, allocation }));
  const enforcer = {
    sent: [] as string[],
    requests: 0,
    apply: async (batch: { shrinks: EnforcementStep[]; grows: EnforcementStep[] }) => {
      enforcer.requests++;
      const { outcomes } = await applyAllocationBatch(
        { shrinks: toAgent(batch.shrinks), grows: toAgent(batch.grows) },
        (step) => {
          enforcer.sent.push(step.appId);
          return apply(step.appId);
        },
      );
      return stepResultsOf(outcomes);
    },
  };
  return enforcer;
}
