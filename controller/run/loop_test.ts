import assert from "node:assert/strict";
import { nextBoundaryMs } from "./loop.ts";

Deno.test("nextBoundaryMs gives the first epoch boundary after a time", () => {
  assert.equal(nextBoundaryMs(100, 1000, 2550), 3100);
  assert.equal(nextBoundaryMs(100, 1000, 3100), 4100);
  assert.equal(nextBoundaryMs(0, 5000, 0), 5000);
});
