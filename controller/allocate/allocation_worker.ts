/**
 * A worker of the allocation pool: allocates the markets it is sent, one job at a time.
 * @module
 */
/// <reference lib="deno.worker" />
import type { NodeAllocation } from "../auction/market.ts";
import { POLICIES } from "../auction/policy.ts";
import { type AllocationJob, type AllocationReply, fromData } from "./worker_protocol.ts";

self.onmessage = (event: MessageEvent<AllocationJob>) => {
  const { job, policy, markets, previous, maxMoveFraction } = event.data;
  let reply: AllocationReply;
  try {
    const allocations: NodeAllocation[] = markets.map((data, i) => {
      const prior = previous[i] ?? undefined;
      const options = {
        ...(prior === undefined ? {} : { previous: prior }),
        ...(maxMoveFraction === undefined ? {} : { maxMoveFraction }),
      };
      return POLICIES[policy](fromData(data), options);
    });
    reply = { job, ok: true, allocations };
  } catch (error) {
    reply = { job, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  self.postMessage(reply);
};
