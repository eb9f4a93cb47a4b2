import assert from "node:assert/strict";
import { applyAllocationBatch, applyAllocationBatchSync } from "./allocation_batch.ts";
import type { AllocationStep } from "./protocol.ts";

const step = (appId: string, cacheBytes: number): AllocationStep => ({
  appId,
  allocation: { cacheBytes, bandwidthBytesPerSec: 1 },
});

Deno.test("applyAllocationBatch applies every shrink before any grow", async () => {
  const order: string[] = [];
  let shrinking = 0;
  const result = await applyAllocationBatch(
    { shrinks: [step("a", 1), step("b", 1)], grows: [step("c", 9)] },
    async ({ appId }) => {
      if (appId !== "c") shrinking++;
      await Promise.resolve();
      if (appId === "c") assert.equal(shrinking, 2, "both shrinks started before the grow");
      order.push(appId);
    },
  );
  assert.deepEqual(order, ["a", "b", "c"]);
  assert.deepEqual(result.outcomes, [
    { appId: "a", round: "shrink", applied: true },
    { appId: "b", round: "shrink", applied: true },
    { appId: "c", round: "grow", applied: true },
  ]);
});

Deno.test("applyAllocationBatch does not attempt the grows after a failed shrink", async () => {
  const tried: string[] = [];
  const failure = Object.assign(new Error("cgroup write failed"), { code: "enforcement-failed" });
  const result = await applyAllocationBatch(
    { shrinks: [step("a", 1)], grows: [step("b", 9)] },
    ({ appId }) => {
      tried.push(appId);
      return Promise.reject(failure);
    },
  );
  assert.deepEqual(tried, ["a"]);
  assert.deepEqual(result.outcomes, [
    {
      appId: "a",
      round: "shrink",
      applied: false,
      error: { code: "enforcement-failed", message: "cgroup write failed" },
    },
    {
      appId: "b",
      round: "grow",
      applied: false,
      error: { code: "not-attempted", message: "not attempted: the shrink of a failed" },
    },
  ]);
});

Deno.test("applyAllocationBatchSync answers as applyAllocationBatch does", async () => {
  const batch = { shrinks: [step("a", 1), step("b", 2)], grows: [step("c", 9)] };
  const fail = (appId: string) => {
    if (appId === "b") throw new Error("no such app");
  };
  const sync = applyAllocationBatchSync(batch, ({ appId }) => fail(appId));
  const async = await applyAllocationBatch(batch, ({ appId }) => {
    fail(appId);
    return Promise.resolve();
  });
  assert.deepEqual(sync, async);
  assert.equal(sync.outcomes[2]?.applied, false);
});
