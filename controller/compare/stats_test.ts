import assert from "node:assert/strict";
import { ci95HalfWidth, mean, median, sampleStandardDeviation, studentT975 } from "./stats.ts";

const close = (actual: number | null, expected: number, tolerance = 1e-3) =>
  assert.ok(
    actual !== null && Math.abs(actual - expected) <= tolerance,
    `${actual} is not within ${tolerance} of ${expected}`,
  );

Deno.test("studentT975 matches the table and the large-sample quantiles", () => {
  assert.equal(studentT975(1), 12.706);
  assert.equal(studentT975(4), 2.776);
  assert.equal(studentT975(30), 2.042);
  close(studentT975(40), 2.021);
  close(studentT975(60), 2.0);
  close(studentT975(120), 1.98);
  close(studentT975(100_000), 1.96);
  assert.throws(() => studentT975(0), /positive integer, got 0/);
  assert.throws(() => studentT975(2.5), RangeError);
});

Deno.test("mean, median and the sample standard deviation of repetitions", () => {
  assert.equal(mean([1, 2, 6]), 3);
  assert.equal(mean([]), null);
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), null);
  close(sampleStandardDeviation([10, 12, 14]), 2, 1e-12);
  assert.equal(sampleStandardDeviation([10]), null);
});

Deno.test("ci95HalfWidth is t(0.975, n - 1) s / sqrt(n), and null below two repetitions", () => {
  close(ci95HalfWidth([10, 12, 14]), 4.303 * 2 / Math.sqrt(3), 1e-9);
  assert.equal(ci95HalfWidth([7, 7, 7]), 0);
  assert.equal(ci95HalfWidth([10]), null);
});
