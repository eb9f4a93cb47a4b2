import assert from "node:assert/strict";
import { AllocationPool } from "./allocation_pool.ts";
import { generateScenario } from "../auction/generate.ts";
import { allocateNodes } from "../auction/policy.ts";
import { validateScenario } from "../auction/scenario.ts";

Deno.test("the allocation pool gives the same allocations as allocating on this thread", async () => {
  const markets =
    validateScenario(generateScenario(77, { nodes: 9, appsPerNode: [1, 8], limits: "mixed" }))
      .markets;
  using pool = new AllocationPool(2);
  const parallel = await pool.allocate(markets, "symbiosis");
  assert.deepEqual(parallel, allocateNodes(markets, "symbiosis"));
  // Warm epochs too: the previous allocation crosses the worker boundary.
  const previous = new Map(parallel.map((a) => [a.nodeId, a]));
  assert.deepEqual(
    await pool.allocate(markets, "symbiosis", { previous }),
    allocateNodes(markets, "symbiosis", { previous }),
  );
});
