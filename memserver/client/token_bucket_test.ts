import assert from "node:assert/strict";
import { type LimiterClock, type TimerId, TokenBucket } from "./token_bucket.ts";

/** A manual clock: timers fire only when the test advances time. */
class FakeClock implements LimiterClock {
  now = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  nowMs(): number {
    return this.now;
  }
  setTimeout(fn: () => void, delayMs: number): TimerId {
    const id = this.#next++;
    this.#timers.set(id, { at: this.now + delayMs, fn });
    return id as unknown as TimerId;
  }
  clearTimeout(id: TimerId): void {
    this.#timers.delete(id as unknown as number);
  }
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    while (true) {
      const due = [...this.#timers.entries()].filter(([, t]) =>
        t.at <= end
      ).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) {
        break;
      }
      this.#timers.delete(due[0]);
      this.now = Math.max(this.now, due[1].at);
      due[1].fn();
      await Promise.resolve();
    }
    this.now = end;
    await Promise.resolve();
  }
}

Deno.test("token bucket grants at most rate x T + burst + one request in any window", async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(100_000, { burstBytes: 1000, clock });
  const granted: Array<{ at: number; bytes: number }> = [];
  let pending = 0;
  const request = (bytes: number) => {
    pending++;
    const wait = bucket.take(bytes);
    const record = () => {
      granted.push({ at: clock.now, bytes });
      pending--;
    };
    if (wait === undefined) record();
    else void wait.then(record);
  };
  for (let i = 0; i < 500; i++) request(4096);
  for (let t = 0; t < 30_000 && pending > 0; t += 10) await clock.advance(10);
  assert.equal(pending, 0);
  for (const first of granted) {
    const inWindow = granted.filter((g) => g.at >= first.at && g.at < first.at + 1000)
      .reduce((sum, g) => sum + g.bytes, 0);
    assert.ok(inWindow <= 100_000 + 1000 + 4096, `window at ${first.at} granted ${inWindow}`);
  }
  const lastAt = granted.at(-1)?.at ?? 0;
  assert.ok(Math.abs(lastAt - 500 * 4096 / 100) < 100, `finished at ${lastAt} ms`);
});

Deno.test("token bucket serves waiters in FIFO order", async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(1000, { burstBytes: 0, clock });
  const order: number[] = [];
  bucket.take(500);
  for (const id of [1, 2, 3]) void bucket.take(100)?.then(() => order.push(id));
  await clock.advance(2000);
  assert.deepEqual(order, [1, 2, 3]);
});

Deno.test("token bucket rate change applies to waiting requests at once", async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(1000, { burstBytes: 0, clock });
  bucket.take(10_000); // 10 s of debt at 1000 B/s
  let done = false;
  void bucket.take(1)?.then(() => (done = true));
  await clock.advance(100);
  bucket.setRate(1_000_000, { burstBytes: 0 });
  await clock.advance(20);
  assert.ok(done, "the waiter should be released by the faster rate");
});

Deno.test("token bucket at rate 0 blocks until the rate is raised", async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(0, { burstBytes: 0, clock });
  let done = false;
  void bucket.take(1)?.then(() => (done = true));
  await clock.advance(60_000);
  assert.equal(done, false);
  bucket.setRate(1000, { burstBytes: 0 });
  await clock.advance(10);
  assert.equal(done, true);
});
