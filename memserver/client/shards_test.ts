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

Deno.test("SHARDS counts only the last window: a new phase's curve replaces the old one", () => {
  let nowMs = 0;
  const options = { datasetPages: 2000, pageBytes: 4096, sampleRate: 1, windowMs: 10_000 };
  const windowed = new ShardsMrc({ ...options, nowMs: () => nowMs });
  const whole = new ShardsMrc({ ...options, windowMs: Infinity, nowMs: () => nowMs });
  const both = (page: number) => (windowed.access(page), whole.access(page));
  // 20 s of a cyclic scan over all 2000 pages, many references per second (every size misses)...
  for (let second = 0; second < 20; second++) {
    for (let i = 0; i < 20_000; i++) both((second * 20_000 + i) % 2000);
    nowMs += 1000;
    windowed.curve();
  }
  assert.ok((windowed.missRatio(200) ?? 0) > 0.99, `scan: ${windowed.missRatio(200)}`);
  // ...then 15 s of a skewed store on 100 hot pages, few references per second.
  const kv = skewedTrace(100, 15 * 500);
  for (let second = 0; second < 15; second++) {
    for (const page of kv.slice(second * 500, (second + 1) * 500)) both(page);
    nowMs += 1000;
    windowed.curve();
  }
  const recent = kv.slice(-10 * 500);
  const expected = lruMissRatio(recent, 200);
  const got = windowed.missRatio(200) ?? -1;
  // The window (10 to 12.5 s) holds only the store's references: its 100 pages fit in 200.
  assert.ok(
    got < 0.02,
    `windowed miss ratio at 200 pages ${got} (exact over the window ~${expected})`,
  );
  // The whole-run curve is still the scan's: 400,000 scan references against 7,500.
  assert.ok((whole.missRatio(200) ?? 0) > 0.9, `whole-run ${whole.missRatio(200)}`);
  // A reset starts the window again from nothing.
  windowed.resetHistogram();
  assert.equal(windowed.missRatio(200), undefined);
});
