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

Deno.test("summarise says whether the baselines are measured or modelled", () => {
  assert.equal(summarise(syntheticEpochs(6), { playbook: "p" }).baselineSource, "model");
  const measured = summarise(syntheticEpochs(6), {
    playbook: "p",
    baselineOpsPerSec: { kv: 12_000, scan: 2_000 },
  });
  assert.equal(measured.baselineSource, "baseline-run");
  const mixed = summarise(syntheticEpochs(6), { playbook: "p", baselineOpsPerSec: { kv: 1 } });
  assert.equal(mixed.baselineSource, "mixed");
});

Deno.test("summarise reports the exploration cost per app and over the run", () => {
  const records = syntheticEpochs(4).map((r, epoch) =>
    epoch !== 2 ? r : {
      ...r,
      apps: r.apps.map((a) => ({
        ...a,
        probe: a.name === "kv"
          ? {
            role: "probed" as const,
            good: "cache" as const,
            direction: "up" as const,
            amount: 30,
            expectedLoss: 0,
          }
          : {
            role: "giving" as const,
            good: "cache" as const,
            direction: "down" as const,
            amount: 30,
            expectedLoss: 0.04,
          },
      })),
      nodes: r.nodes.map((n) => ({
        ...n,
        probe: {
          app: "kv",
          good: "cache" as const,
          direction: "up" as const,
          amount: 30,
          expectedLoss: { kv: 0, scan: 0.04 },
        },
      })),
    }
  );
  const s = summarise(records, { playbook: "p" });
  const scan = s.apps.find((a) => a.name === "scan");
  assert.deepEqual(scan?.exploration, {
    probedEpochs: 0,
    affectedEpochs: 1,
    meanExpectedLoss: 0.01,
    maxExpectedLoss: 0.04,
  });
  assert.equal(s.apps.find((a) => a.name === "kv")?.exploration?.probedEpochs, 1);
  assert.equal(s.exploration?.probeEpochs, 1);
  assert.equal(s.exploration?.affectedEpochs, 2);
  assert.equal(s.exploration?.meanExpectedLoss, 0.005);
});

Deno.test("summarise reports the smallest allocated share of each good after warm-up", () => {
  const records = syntheticEpochs(4, { warmup: 1 }).map((r, epoch) => ({
    ...r,
    nodes: r.nodes.map((n) => ({
      ...n,
      allocated: { cacheMiB: epoch === 0 ? 0 : 512 - epoch, bandwidthMbps: 1000 },
    })),
  }));
  const s = summarise(records, { playbook: "p" });
  assert.deepEqual(s.allocated, { minCacheShare: 509 / 512, minBandwidthShare: 1 });
});
