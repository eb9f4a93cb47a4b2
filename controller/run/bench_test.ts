import assert from "node:assert/strict";
import { spread } from "./bench.ts";

Deno.test("spread gives the median and the nearest-rank 95th percentile", () => {
  assert.deepEqual(spread([5, 1, 3]), { medianMs: 3, p95Ms: 5 });
  assert.deepEqual(spread([4, 1, 3, 2]), { medianMs: 2.5, p95Ms: 4 });
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.deepEqual(spread(hundred), { medianMs: 50.5, p95Ms: 95 });
});

Deno.test("spread of no figures is NaN", () => {
  const { medianMs, p95Ms } = spread([]);
  assert.ok(Number.isNaN(medianMs) && Number.isNaN(p95Ms));
});
