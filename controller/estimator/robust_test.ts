import assert from "node:assert/strict";
import { inlierIndices, mad, median, nonIncreasingFit, theilSen } from "./robust.ts";

Deno.test("median handles odd, even and empty inputs", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

Deno.test("mad scales to the standard deviation of a normal sample", () => {
  assert.equal(mad([1, 1, 1]), 0);
  assert.ok(Math.abs(mad([-1, 0, 1]) - 1.4826) < 1e-9);
});

Deno.test("theilSen fits a line through points despite a gross outlier", () => {
  const xs = [0, 1, 2, 3, 4, 5, 6];
  const ys = xs.map((x) => 2 + 3 * x);
  ys[4] = 1000;
  const line = theilSen(xs, ys);
  assert.ok(Math.abs(line.slope - 3) < 1e-9 && Math.abs(line.intercept - 2) < 1e-9);
});

Deno.test("inlierIndices drops values far from the median", () => {
  assert.deepEqual(inlierIndices([10, 11, 9, 10, 50, 10.5]), [0, 1, 2, 3, 5]);
});

Deno.test("nonIncreasingFit pools adjacent violators", () => {
  assert.deepEqual(nonIncreasingFit([5, 3, 4, 1]), [5, 3.5, 3.5, 1]);
  assert.deepEqual(nonIncreasingFit([1, 2], [3, 1]), [1.25, 1.25]);
});
