import assert from "node:assert/strict";
import { VirtualClock } from "./virtual_clock.ts";

Deno.test("VirtualClock.sleep advances virtual time at once and tells listeners", async () => {
  const clock = new VirtualClock({ startWallMs: 1000 });
  const seen: number[] = [];
  clock.onAdvance((now) => void seen.push(now));
  await clock.sleep(5000);
  await clock.sleep(2500);
  assert.equal(clock.now(), 7500);
  assert.equal(clock.wallTime(), 8500);
  assert.deepEqual(seen, [5000, 7500]);
});

Deno.test("VirtualClock.sleep does not advance once the signal aborted", async () => {
  const clock = new VirtualClock();
  const controller = new AbortController();
  controller.abort();
  await clock.sleep(5000, controller.signal);
  assert.equal(clock.now(), 0);
});

Deno.test("VirtualClock.advance waits for the promises listeners return", async () => {
  const clock = new VirtualClock();
  let done = false;
  clock.onAdvance(() => new Promise((resolve) => setTimeout(() => resolve(void (done = true)), 0)));
  await clock.advance(10);
  assert.ok(done);
});
