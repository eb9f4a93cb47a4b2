import assert from "node:assert/strict";
import { Limiter, mapLimited } from "./limit.ts";

/** A promise and its resolve, to release held work when the test says so. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => open = resolve);
  return { opened, open };
}

Deno.test("Limiter lets at most max holders in, the others in order as slots free", async () => {
  const limiter = new Limiter(2);
  const order: number[] = [];
  const gates = [gate(), gate(), gate(), gate()];
  const runs = gates.map((g, i) =>
    limiter.run(async () => {
      order.push(i);
      await g.opened;
    })
  );
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  await settle();
  assert.deepEqual(order, [0, 1]);
  assert.equal(limiter.active, 2);
  gates[1]?.open();
  await runs[1];
  await settle();
  assert.deepEqual(order, [0, 1, 2]);
  for (const g of gates) g.open();
  await Promise.all(runs);
  assert.deepEqual(order, [0, 1, 2, 3]);
  assert.equal(limiter.active, 0);
});

Deno.test("Limiter gives a slot back once even when released twice, and after a failure", async () => {
  const limiter = new Limiter(1);
  const release = await limiter.acquire();
  release();
  release();
  assert.equal(limiter.active, 0);
  await assert.rejects(limiter.run(() => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(limiter.active, 0);
});

Deno.test("Limiter refuses a limit below 1", () => {
  assert.throws(() => new Limiter(0), /whole number from 1 \(got 0\)/);
});

Deno.test("mapLimited keeps input order and every outcome", async () => {
  let running = 0;
  let most = 0;
  const outcomes = await mapLimited([1, 2, 3, 4, 5], 2, async (n) => {
    running++;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running--;
    if (n === 3) throw new Error("three");
    return n * 10;
  });
  assert.equal(most, 2);
  assert.deepEqual(
    outcomes.map((o) => o.status === "fulfilled" ? o.value : String(o.reason.message)),
    [10, 20, "three", 40, 50],
  );
});
