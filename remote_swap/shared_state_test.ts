import assert from "node:assert/strict";
import { PageState, SwapSharedState } from "./shared_state.ts";

Deno.test("shared state keeps stored and lost page counts exact across workers", () => {
  const state = SwapSharedState.create({ pages: 100, workers: 2 });
  state.mark(0, 10, 20, PageState.STORED);
  state.mark(1, 25, 10, PageState.STORED); // 5 pages overlap: already stored
  assert.equal(state.totals().storedPages, 25);
  state.mark(1, 10, 5, PageState.EMPTY);
  assert.equal(state.totals().storedPages, 20);
  assert.equal(state.markAllLost(0), 20);
  assert.deepEqual([state.totals().storedPages, state.totals().lostPages], [0, 20]);
  assert.deepEqual(state.range(0, 10), { anyLost: false, allEmpty: true });
  assert.deepEqual(state.range(14, 2), { anyLost: true, allEmpty: false });
  state.mark(0, 15, 1, PageState.STORED); // a lost page written again is stored
  assert.deepEqual([state.totals().storedPages, state.totals().lostPages], [1, 19]);
});

Deno.test("shared state is visible to a second view over the same buffers (a worker's)", () => {
  const state = SwapSharedState.create({ pages: 8, workers: 1 });
  const worker = SwapSharedState.attach(state.buffers);
  worker.mark(0, 2, 2, PageState.STORED);
  worker.count(0, "bytesWritten", 8192);
  assert.equal(state.page(3), PageState.STORED);
  assert.equal(state.totals().bytesWritten, 8192);
});

Deno.test("write cap: a burst passes, then each request waits for its share of the debt", () => {
  let now = 1000;
  const slept: number[] = [];
  const clock = { nowMs: () => now, sleepMs: (ms: number) => void slept.push(ms) };
  const state = SwapSharedState.create({ pages: 1, workers: 1 });
  state.setWriteCap(10 * 1024 * 1024, now); // 10 MiB/s, burst 1 MiB
  assert.equal(state.takeWrite(1024 * 1024, clock), 0, "the burst");
  assert.equal(state.takeWrite(512 * 1024, clock), 50, "512 KiB at 10 MiB/s");
  assert.equal(state.takeWrite(512 * 1024, clock), 100, "queued behind the first");
  now += 100;
  assert.equal(state.takeWrite(1024 * 1024, clock), 100, "100 ms later the debt is paid");
  assert.deepEqual(slept, [50, 100, 100]);
  state.setWriteCap(0, now);
  assert.equal(state.takeWrite(1 << 30, clock), 0, "no cap");
});
