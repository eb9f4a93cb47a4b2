import assert from "node:assert/strict";
import { mrcFromPageCounts, PageHistogram } from "./mrc.ts";

Deno.test("mrcFromPageCounts ranks pages by frequency", () => {
  const curve = mrcFromPageCounts([6, 3, 1], { points: 3 });
  assert.deepEqual(curve.map(([bytes]) => bytes / 4096), [1, 2, 3]);
  assert.ok(Math.abs((curve[0]?.[1] ?? 0) - 0.4) < 1e-9);
  assert.equal(curve.at(-1)?.[1], 0);
});

Deno.test("mrcFromPageCounts is empty without samples", () => {
  assert.deepEqual(mrcFromPageCounts([]), []);
});

Deno.test("PageHistogram groups addresses by page and ignores null addresses", () => {
  const histogram = new PageHistogram();
  for (const address of [0x1000n, 0x1fffn, 0x2000n, 0n]) histogram.add(address);
  assert.deepEqual(histogram.counts().sort(), [1, 2]);
  assert.equal(histogram.total, 3);
});
