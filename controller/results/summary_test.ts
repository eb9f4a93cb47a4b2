import assert from "node:assert/strict";
import { geometricMean, jainIndex } from "../auction/fairness.ts";
import { syntheticEpochs } from "./_synthetic.ts";
import { summarise } from "./summary.ts";

Deno.test("summarise leaves out warm-up epochs and averages the measured ones", () => {
  const s = summarise(syntheticEpochs(8, { warmup: 2 }), { playbook: "p" });
  assert.equal(s.epochs, 8);
  assert.equal(s.measuredEpochs, 6);
  const kv = s.apps.find((a) => a.name === "kv");
  // shifts over epochs 2..7: 40, 60, 80, 100, 100, 100 -> mean 80.
  assert.equal(kv?.meanOpsPerSec, 18_000);
  assert.equal(kv?.meanCacheMiB, 336);
});

Deno.test("summarise uses a baseline run's throughput for ratios and fairness", () => {
  const s = summarise(syntheticEpochs(6), {
    playbook: "p",
    baselineOpsPerSec: { kv: 12_000, scan: 2_000 },
  });
  const ratios = s.apps.map((a) => a.ratioToBaseline ?? Number.NaN);
  assert.equal(s.apps[0]?.baselineSource, "baseline-run");
  assert.equal(s.fairness.jainIndexOfRatios, jainIndex(ratios));
  assert.equal(s.fairness.geometricMeanRatio, geometricMean(ratios));
  assert.equal(s.fairness.minRatio, Math.min(...ratios));
});

Deno.test("summarise falls back to the model's equal-split prediction as baseline", () => {
  const s = summarise(syntheticEpochs(6), { playbook: "p" });
  assert.equal(s.apps[0]?.baselineSource, "model");
  assert.equal(s.apps[0]?.baselineOpsPerSec, 10_000);
});

Deno.test("summarise has no fairness figures when a baseline is unknown", () => {
  const records = syntheticEpochs(4).map((r) => ({
    ...r,
    apps: r.apps.map((a) => ({ ...a, equalSplitPredictedOpsPerSec: null })),
  }));
  const s = summarise(records, { playbook: "p" });
  assert.equal(s.fairness.jainIndexOfRatios, null);
  assert.equal(s.apps[0]?.ratioToBaseline, null);
});

Deno.test("summarise reports prediction error only over epochs with a prediction", () => {
  const s = summarise(syntheticEpochs(6), { playbook: "p" });
  const scan = s.apps.find((a) => a.name === "scan");
  assert.equal(scan?.prediction.count, 4);
  assert.ok((scan?.prediction.meanRelativeBias ?? 0) < 0);
  assert.equal(s.prediction.count, 10);
});

Deno.test("summarise under the static policy is its own baseline", () => {
  const s = summarise(syntheticEpochs(4, { policy: "static" }), { playbook: "p" });
  assert.deepEqual(s.apps.map((a) => a.ratioToBaseline), [1, 1]);
});
