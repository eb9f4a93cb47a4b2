import assert from "node:assert/strict";
import { ShardsMrc } from "./shards.ts";

/** Exact LRU miss ratio of `trace` with `capacity` pages (brute force). */
function lruMissRatio(trace: readonly number[], capacity: number): number {
  const stack: number[] = [];
  let misses = 0;
  for (const page of trace) {
    const at = stack.indexOf(page);
    if (at === -1 || at >= capacity) misses++;
    if (at !== -1) stack.splice(at, 1);
    stack.unshift(page);
  }
  return misses / trace.length;
}

function skewedTrace(pages: number, length: number): number[] {
  let seed = 7;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  return Array.from({ length }, () => Math.floor(pages * Math.pow(random(), 3)));
}

Deno.test("SHARDS at rate 1 equals exact LRU miss ratios", () => {
  const trace = skewedTrace(500, 20_000);
  const mrc = new ShardsMrc({ datasetPages: 500, pageBytes: 4096, sampleRate: 1 });
  for (const page of trace) mrc.access(page);
  for (const capacity of [10, 50, 100, 250, 499]) {
    const expected = lruMissRatio(trace, capacity);
    const estimated = mrc.missRatio(capacity) ?? -1;
    assert.ok(
      Math.abs(expected - estimated) < 1e-9,
      `capacity ${capacity}: ${estimated} vs ${expected}`,
    );
  }
});

Deno.test("SHARDS with spatial sampling stays within 0.03 of exact LRU", () => {
  const trace = skewedTrace(20_000, 200_000);
  const mrc = new ShardsMrc({ datasetPages: 20_000, pageBytes: 4096, sampleRate: 0.1 });
  for (const page of trace) mrc.access(page);
  for (const capacity of [500, 2000, 8000]) {
    const expected = lruMissRatio(trace.slice(0, 60_000), capacity);
    const small = new ShardsMrc({ datasetPages: 20_000, pageBytes: 4096, sampleRate: 0.1 });
    for (const page of trace.slice(0, 60_000)) small.access(page);
    const estimated = small.missRatio(capacity) ?? -1;
    assert.ok(
      Math.abs(expected - estimated) < 0.03,
      `capacity ${capacity}: ${estimated} vs ${expected}`,
    );
  }
  assert.equal(mrc.curve().length, 32);
});

Deno.test("SHARDS survives many compactions of its time axis", () => {
  const mrc = new ShardsMrc({ datasetPages: 64, pageBytes: 4096, sampleRate: 1 });
  for (let i = 0; i < 100_000; i++) mrc.access(i % 64);
  assert.ok(Math.abs((mrc.missRatio(64) ?? 1) - 64 / 100_000) < 1e-12);
  assert.equal(mrc.missRatio(63), 1);
});
