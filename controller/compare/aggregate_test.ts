import assert from "node:assert/strict";
import { phaseChangeEvent } from "../results/timeline.ts";
import { SYNTHETIC_START_MS, type SyntheticApp, syntheticRun } from "./_synthetic.ts";
import { aggregateComparison, type CompareRun } from "./aggregate.ts";

const close = (actual: number | null | undefined, expected: number, tolerance = 1e-9) =>
  assert.ok(
    typeof actual === "number" && Math.abs(actual - expected) <= tolerance,
    `${actual} is not within ${tolerance} of ${expected}`,
  );

/** The value with every number rounded to 9 decimals (for sums of floating fractions). */
const rounded = <T>(value: T): T =>
  JSON.parse(JSON.stringify(value, (_, v) => typeof v === "number" ? Number(v.toFixed(9)) : v));

/** A finished run where kv and scan reach the given throughputs. */
function run(
  policy: string,
  repetition: number,
  ops: { kv: number; scan: number },
  extra: Partial<Record<"kv" | "scan", Partial<SyntheticApp>>> = {},
): CompareRun {
  const runDir = `results/p-${policy}-${repetition}`;
  return {
    policy,
    repetition,
    runDir,
    result: {
      ok: true,
      data: syntheticRun({
        runDir,
        policy,
        apps: [
          { name: "kv", opsPerSec: ops.kv, cacheMiB: 500, bandwidthMbps: 500, ...extra.kv },
          { name: "scan", opsPerSec: ops.scan, cacheMiB: 500, bandwidthMbps: 500, ...extra.scan },
        ],
      }),
    },
  };
}

const failed = (policy: string, repetition: number, error: string): CompareRun => ({
  policy,
  repetition,
  runDir: null,
  result: { ok: false, error },
});

const basic = [
  run("static", 0, { kv: 1000, scan: 500 }),
  run("symbiosis", 0, { kv: 1300, scan: 520 }),
  run("static", 1, { kv: 1100, scan: 500 }),
  run("symbiosis", 1, { kv: 1320, scan: 480 }),
  run("static", 2, { kv: 1200, scan: 500 }),
  run("symbiosis", 2, { kv: 1340, scan: 500 }),
];

Deno.test("aggregateComparison: mean over repetitions, 95 % CI and ratio to static per app", () => {
  const comparison = aggregateComparison(basic, { playbook: "two" });
  assert.equal(comparison.playbook, "two");
  assert.deepEqual(comparison.policies.map((p) => p.policy), ["static", "symbiosis"]);
  const [statics, symbiosis] = comparison.policies;
  const kv = statics?.apps[0];
  assert.equal(kv?.name, "kv");
  assert.equal(kv?.meanOpsPerSec, 1100);
  close(kv?.ci95, 4.303 * 100 / Math.sqrt(3));
  assert.equal(kv?.ratioToStatic, 1);
  assert.deepEqual(kv?.runOpsPerSec, [1000, 1100, 1200]);
  assert.equal(statics?.apps[1]?.ci95, 0);
  assert.deepEqual(
    symbiosis?.apps.map((a) => [a.name, a.meanOpsPerSec, a.ratioToStatic, a.ratioReference]),
    [["kv", 1320, 1.2, "static"], ["scan", 500, 1, "static"]],
  );
  assert.deepEqual(symbiosis?.runs, [
    "results/p-symbiosis-0",
    "results/p-symbiosis-1",
    "results/p-symbiosis-2",
  ]);
});

Deno.test("aggregateComparison: geometric-mean gain, worst ratio and Jain's index per policy", () => {
  const symbiosis = aggregateComparison(basic, { playbook: "two" }).policies[1];
  close(symbiosis?.geoMeanGain, Math.sqrt(1.2));
  assert.equal(symbiosis?.minRatio, 1);
  close(symbiosis?.jainIndex, (2.2 * 2.2) / (2 * (1.44 + 1)));
});

Deno.test("aggregateComparison reports a failed run and still compares the others", () => {
  const comparison = aggregateComparison(
    [...basic.slice(0, 5), failed("symbiosis", 2, "agent on cn1 unreachable")],
    { playbook: "two", policies: ["symbiosis", "static"] },
  );
  const symbiosis = comparison.policies[0];
  assert.equal(symbiosis?.policy, "symbiosis");
  assert.equal(symbiosis?.repetitions, 2);
  assert.deepEqual(symbiosis?.failures, [{
    repetition: 2,
    runDir: null,
    error: "agent on cn1 unreachable",
  }]);
  assert.equal(symbiosis?.apps[0]?.meanOpsPerSec, 1310);
  close(symbiosis?.apps[0]?.ratioToStatic, 1310 / 1100);
});

Deno.test("aggregateComparison with every run of a policy failed lists only the failures", () => {
  const comparison = aggregateComparison([
    run("static", 0, { kv: 1000, scan: 500 }),
    failed("harvest", 0, "boom"),
  ], { playbook: "two" });
  const harvest = comparison.policies[1];
  assert.deepEqual(harvest?.runs, []);
  assert.deepEqual(harvest?.apps, []);
  assert.equal(harvest?.geoMeanGain, null);
  assert.equal(harvest?.failures.length, 1);
});

Deno.test("aggregateComparison falls back to the model's equal-split prediction without static", () => {
  const comparison = aggregateComparison([
    run("symbiosis", 0, { kv: 1200, scan: 450 }, {
      kv: { equalSplitPredictedOpsPerSec: 1000 },
      scan: { equalSplitPredictedOpsPerSec: 500 },
    }),
  ], { playbook: "two" });
  const apps = comparison.policies[0]?.apps;
  assert.deepEqual(apps?.map((a) => [a.ratioToStatic, a.ratioReference]), [[1.2, "model"], [
    0.9,
    "model",
  ]]);
});

Deno.test("aggregateComparison lists apps more than 5 % below static as sharing-incentive violations", () => {
  const comparison = aggregateComparison([
    run("static", 0, { kv: 1000, scan: 500 }),
    run("trade", 0, { kv: 1400, scan: 470 }),
    run("harvest", 0, { kv: 1400, scan: 480 }),
  ], { playbook: "two" });
  assert.deepEqual(comparison.policies[1]?.sharingIncentive, {
    tolerance: 0.05,
    violations: ["scan"],
  });
  assert.deepEqual(comparison.policies[2]?.sharingIncentive.violations, []);
});

Deno.test("aggregateComparison evaluates envy with the fitted models on the bundles held", () => {
  // kv gains from cache (grid over cache); scan gains only from bandwidth. kv holds 200 MiB,
  // scan 800 MiB: kv envies scan (f_kv(800) / f_kv(200)); scan envies nobody.
  const cacheBound = {
    kind: "grid" as const,
    cacheMiB: [0, 1000],
    bandwidthMbps: [0, 1000],
    opsPerSec: [[100, 100], [1100, 1100]],
  };
  const bandwidthBound = {
    kind: "grid" as const,
    cacheMiB: [0, 1000],
    bandwidthMbps: [0, 1000],
    opsPerSec: [[100, 1100], [100, 1100]],
  };
  const comparison = aggregateComparison([
    run("drf", 0, { kv: 300, scan: 600 }, {
      kv: { cacheMiB: 200, modelSpec: cacheBound },
      scan: { cacheMiB: 800, modelSpec: bandwidthBound },
    }),
    run("drf", 1, { kv: 300, scan: 600 }, { kv: { cacheMiB: 200, modelSpec: cacheBound } }),
  ], { playbook: "two" });
  const envy = comparison.policies[0]?.envy;
  assert.equal(envy?.tolerance, 0.05);
  assert.equal(envy?.pairs.length, 1);
  assert.deepEqual([envy?.pairs[0]?.envious, envy?.pairs[0]?.envied, envy?.pairs[0]?.runs], [
    "kv",
    "scan",
    1,
  ]);
  close(envy?.pairs[0]?.meanRatio, 900 / 300);
  assert.equal(envy?.meanPairsPerRun, 0.5);
  assert.deepEqual(envy?.unevaluated, ["scan"]);
});

Deno.test("aggregateComparison averages used and allocated capacity per node and overall", () => {
  const nodes = [
    { host: "cn1", cacheMiB: 1000, bandwidthMbps: 1000 },
    { host: "cn2", cacheMiB: 3000, bandwidthMbps: 1000 },
  ];
  const data = syntheticRun({
    runDir: "r",
    policy: "symbiosis",
    nodes,
    apps: [
      {
        name: "a",
        host: "cn1",
        opsPerSec: 1,
        cacheMiB: 800,
        bandwidthMbps: 600,
        usedCacheMiB: 400,
        remoteMbps: 300,
      },
      {
        name: "b",
        host: "cn2",
        opsPerSec: 1,
        cacheMiB: 3000,
        bandwidthMbps: 1000,
        usedCacheMiB: 3000,
        remoteMbps: 100,
      },
    ],
  });
  const policy = aggregateComparison([{
    policy: "symbiosis",
    repetition: 0,
    runDir: "r",
    result: { ok: true, data },
  }], {
    playbook: "x",
  }).policies[0];
  assert.deepEqual(rounded(policy?.nodes), [
    {
      host: "cn1",
      utilisation: { cache: 0.4, bandwidth: 0.3 },
      allocated: { cache: 0.8, bandwidth: 0.6 },
    },
    {
      host: "cn2",
      utilisation: { cache: 1, bandwidth: 0.1 },
      allocated: { cache: 1, bandwidth: 1 },
    },
  ]);
  // Capacity-weighted: cache (400 + 3000) / 4000, bandwidth (300 + 100) / 2000.
  assert.deepEqual(rounded(policy?.utilisation), { cache: 0.85, bandwidth: 0.2 });
  assert.deepEqual(rounded(policy?.allocated), { cache: 0.95, bandwidth: 0.8 });
});

Deno.test("aggregateComparison pools prediction errors over epochs and runs", () => {
  const comparison = aggregateComparison([
    run("symbiosis", 0, { kv: 1000, scan: 500 }, { kv: { predictedOpsPerSec: 1100 } }),
    run("symbiosis", 1, { kv: 1000, scan: 500 }, { kv: { predictedOpsPerSec: 900 } }),
  ], { playbook: "two" });
  const policy = comparison.policies[0];
  assert.equal(policy?.predictionError.count, 20);
  close(policy?.predictionError.meanAbsoluteRelativeError, 0.1);
  close(policy?.predictionError.meanRelativeBias, 0);
  close(policy?.apps[0]?.predictionError, 0.1);
  assert.equal(policy?.apps[1]?.predictionError, null);
});

Deno.test("aggregateComparison reports adaptation time only where the playbook changes phase", () => {
  const plain = aggregateComparison(basic, { playbook: "two" }).policies[1];
  assert.equal("adaptationSec" in (plain ?? {}), false);
  assert.equal(plain?.adaptation, undefined);
  // scan switches phase at 12 s; its cache moves 500 -> 700 over two epochs, steady from epoch 4.
  const changeAt = new Date(SYNTHETIC_START_MS + 12_000).toISOString();
  const phased = run("symbiosis", 0, { kv: 1000, scan: 500 }, {
    scan: { cacheMiB: (e: number) => e < 3 ? 500 : e === 3 ? 600 : 700 },
  });
  assert.ok(phased.result.ok);
  phased.result.data = {
    ...phased.result.data,
    events: [{ time: changeAt, ...phaseChangeEvent("scan", { to: "stream" }) }],
  };
  const policy = aggregateComparison([phased], { playbook: "two" }).policies[0];
  // Epoch 4 (700 MiB, the steady state) starts at 20 s: 8 s after the change.
  assert.equal(policy?.adaptationSec, 8);
  assert.deepEqual(policy?.adaptation, {
    changes: 1,
    settled: 1,
    meanSec: 8,
    maxSec: 8,
    meanEpochs: 2,
    maxEpochs: 2,
  });
  assert.equal(policy?.apps[1]?.adaptationSec, 8);
  assert.equal("adaptationSec" in (policy?.apps[0] ?? {}), false);
});

Deno.test("aggregateComparison's JSON has the documented keys first, in order", () => {
  const policy = aggregateComparison(basic, { playbook: "two" }).policies[1];
  assert.deepEqual(Object.keys(policy ?? {}).slice(0, 6), [
    "policy",
    "runs",
    "apps",
    "geoMeanGain",
    "minRatio",
    "utilisation",
  ]);
  assert.deepEqual(Object.keys(policy?.apps[0] ?? {}).slice(0, 4), [
    "name",
    "meanOpsPerSec",
    "ci95",
    "ratioToStatic",
  ]);
});
