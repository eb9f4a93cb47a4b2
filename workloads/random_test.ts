import assert from "node:assert/strict";
import { scatter, seededRandom, Zipf } from "./random.ts";

Deno.test("zipf ranks are skewed towards rank 0 and stay in range", () => {
  const zipf = new Zipf(10_000, 0.99, seededRandom(3));
  const counts = new Map<number, number>();
  for (let i = 0; i < 100_000; i++) {
    const rank = zipf.next();
    assert.ok(rank >= 0 && rank < 10_000);
    counts.set(rank, (counts.get(rank) ?? 0) + 1);
  }
  const top = counts.get(0) ?? 0;
  const tenth = counts.get(9) ?? 0;
  assert.ok(top > 5 * tenth, `rank 0 drawn ${top} times, rank 9 ${tenth} times`);
  assert.ok(top / 100_000 > 0.05 && top / 100_000 < 0.15, `rank 0 share ${top / 100_000}`);
});

Deno.test("zipf with skew 0 is uniform", () => {
  const zipf = new Zipf(10, 0, seededRandom(5));
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 50_000; i++) {
    const rank = zipf.next();
    counts[rank] = (counts[rank] ?? 0) + 1;
  }
  for (const count of counts) assert.ok(Math.abs(count - 5000) < 500, `counts ${counts}`);
});

Deno.test("scatter is a bijection", () => {
  for (const n of [1, 2, 3, 1000, 4096, 65_537]) {
    const map = scatter(n);
    const seen = new Uint8Array(n);
    for (let i = 0; i < n; i++) seen[map(i)] = 1;
    assert.ok(seen.every((x) => x === 1), `not a bijection for n = ${n}`);
  }
});
