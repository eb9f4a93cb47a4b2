import assert from "node:assert/strict";
import { memoryHighFor, planCacheSteps } from "./shrink.ts";

Deno.test("planCacheSteps shrinks by at most 20% per step", () => {
  assert.deepEqual(planCacheSteps(1000, 500).stepsBytes, [800, 640, 512, 500]);
});

Deno.test("planCacheSteps raises in one step", () => {
  assert.deepEqual(planCacheSteps(100, 500).stepsBytes, [500]);
});

Deno.test("planCacheSteps caps the number of steps", () => {
  const { stepsBytes } = planCacheSteps(2 ** 40, 1, { maxSteps: 3 });
  assert.equal(stepsBytes.length, 4);
  assert.equal(stepsBytes.at(-1), 1);
});

Deno.test("memoryHighFor keeps 256 MiB or 10% of headroom, whichever is less", () => {
  assert.equal(memoryHighFor(10 * 2 ** 30), 10 * 2 ** 30 - 256 * 2 ** 20);
  assert.equal(memoryHighFor(1000 * 2 ** 20), Math.floor(900 * 2 ** 20));
});
