import assert from "node:assert/strict";
import { kvMissRatioCurve, lruMissRatios, pagePopularity } from "./zipf_curve.ts";

Deno.test("pagePopularity sums to 1 over the dataset's pages", () => {
  const popularity = pagePopularity({ datasetBytes: 4 * 2 ** 20, valueBytes: 256, zipf: 0.99 });
  assert.equal(popularity.length, 1024);
  assert.ok(Math.abs(popularity.reduce((a, b) => a + b, 0) - 1) < 1e-9);
});

Deno.test("lruMissRatios of uniform popularity fall linearly with the cache", () => {
  const uniform = new Float64Array(1000).fill(1 / 1000);
  const [quarter, half] = lruMissRatios(uniform, [250, 500]);
  assert.ok(Math.abs((quarter ?? 0) - 0.75) < 0.01, `${quarter}`);
  assert.ok(Math.abs((half ?? 0) - 0.5) < 0.01, `${half}`);
});

Deno.test("kvMissRatioCurve: a skewed kv misses less than a mild one, down to 0 at the dataset", () => {
  const layout = { datasetBytes: 64 * 2 ** 20, valueBytes: 256 };
  const skewed = kvMissRatioCurve({ ...layout, zipf: 0.99 });
  const mild = kvMissRatioCurve({ ...layout, zipf: 0.6 });
  assert.deepEqual(skewed[0], [0, 1]);
  assert.equal(skewed.at(-1)?.[1], 0);
  for (let i = 1; i < skewed.length; i++) {
    assert.ok((skewed[i]?.[1] ?? 1) <= (skewed[i - 1]?.[1] ?? 0), "non-increasing");
  }
  const at = (curve: Array<[number, number]>, k: number) => curve[k]?.[1] ?? NaN;
  assert.ok(at(skewed, 4) < at(mild, 4) - 0.2, `${at(skewed, 4)} vs ${at(mild, 4)}`);
});
