import assert from "node:assert/strict";
import { join } from "node:path";
import { twoAppSpec } from "../../test/fixtures/two_apps.ts";
import { validatePlaybook } from "../playbook/validate.ts";
import {
  missingResults,
  runComparison,
  type RunOne,
  type RunRequest,
  RUNS_SUBDIR,
  simulatedRun,
} from "./run_comparison.ts";
import { compareJson } from "./write.ts";

/** A kv, a scan and a phased app on one node; 8 epochs of 5 s. */
const playbook = validatePlaybook(twoAppSpec("results", {
  name: "cmp",
  apps: [
    { name: "kv", host: "node", workload: { kind: "kv", dataset: "16MiB", zipf: 0.99 } },
    { name: "scan", host: "node", workload: { kind: "stream", dataset: "16MiB" } },
    {
      name: "flip",
      host: "node",
      workload: {
        kind: "phased",
        dataset: "16MiB",
        phases: [{ kind: "kv", duration: "20s" }, { kind: "stream", duration: "20s" }],
      },
    },
  ],
  epoch: "5s",
  warmup: "10s",
  duration: "40s",
  seed: 7,
}));

async function inTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "spirit-compare-test-" });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("runComparison in the simulator writes compare.json in the issue's shape", async () => {
  await inTempDir(async (outDir) => {
    const { comparison, files } = await runComparison(playbook, {
      policies: ["static", "symbiosis"],
      repeat: 2,
      outDir,
      runOne: simulatedRun,
    });
    assert.deepEqual(Object.keys(comparison), ["playbook", "policies"]);
    assert.equal(comparison.playbook, "cmp");
    assert.deepEqual(comparison.policies.map((p) => p.policy), ["static", "symbiosis"]);
    for (const policy of comparison.policies) {
      assert.deepEqual(Object.keys(policy).slice(0, 7), [
        "policy",
        "runs",
        "apps",
        "geoMeanGain",
        "minRatio",
        "utilisation",
        "adaptationSec",
      ]);
      assert.deepEqual(Object.keys(policy.utilisation), ["cache", "bandwidth"]);
      assert.equal(policy.runs.length, 2);
      for (const run of policy.runs) assert.equal(run.startsWith(join(outDir, RUNS_SUBDIR)), true);
      assert.deepEqual(policy.apps.map((a) => a.name), ["kv", "scan", "flip"]);
      for (const app of policy.apps) {
        assert.deepEqual(Object.keys(app).slice(0, 4), [
          "name",
          "meanOpsPerSec",
          "ci95",
          "ratioToStatic",
        ]);
        assert.equal(typeof app.meanOpsPerSec, "number");
        assert.equal(typeof app.ci95, "number");
      }
      // The phased app's changes (from the run's phase events) give the policy an adaptation.
      assert.ok((policy.adaptation?.changes ?? 0) >= 2);
    }
    const reference = comparison.policies[0];
    assert.deepEqual(reference?.apps.map((a) => a.ratioToStatic), [1, 1, 1]);
    assert.equal(await Deno.readTextFile(files.jsonPath), compareJson(comparison));
    assert.match(await Deno.readTextFile(files.csvPath), /^policy,app,/);
    assert.match(await Deno.readTextFile(files.htmlPath), /<html/);
    assert.equal(missingResults(comparison), null);
  });
});

/** A runner that records what it was asked, then simulates. */
function recording(calls: RunRequest[], inner: RunOne = simulatedRun): RunOne {
  return (request) => {
    calls.push(request);
    return inner(request);
  };
}

Deno.test("runComparison interleaves the policies, one seed per repetition for every policy", async () => {
  await inTempDir(async (outDir) => {
    const calls: RunRequest[] = [];
    await runComparison(playbook, {
      policies: ["static", "symbiosis", "drf"],
      repeat: 2,
      outDir,
      runOne: recording(calls),
    });
    assert.deepEqual(
      calls.map((c) => [c.policy, c.repetition, c.playbook.policy, c.playbook.seed]),
      [
        ["static", 0, "static", 7],
        ["symbiosis", 0, "symbiosis", 7],
        ["drf", 0, "drf", 7],
        ["symbiosis", 1, "symbiosis", 8],
        ["drf", 1, "drf", 8],
        ["static", 1, "static", 8],
      ],
    );
    for (const call of calls) assert.equal(call.playbook.output, join(outDir, RUNS_SUBDIR));
  });
});

Deno.test("runComparison reports a failed run, its directory and error, and compares the others", async () => {
  await inTempDir(async (outDir) => {
    const progress: string[] = [];
    const failing: RunOne = async (request) => {
      if (request.policy === "symbiosis" && request.repetition === 0) {
        await simulatedRun(request);
        throw new Error("agent on node exited");
      }
      return await simulatedRun(request);
    };
    const { comparison, outcomes } = await runComparison(playbook, {
      policies: ["static", "symbiosis"],
      repeat: 2,
      outDir,
      runOne: failing,
      progress: (line) => progress.push(line),
    });
    const failed = outcomes.find((o) => o.error !== undefined);
    assert.equal(failed?.error, "agent on node exited");
    assert.match(failed?.runDir ?? "", /runs\/cmp-symbiosis-/);
    const symbiosis = comparison.policies.find((p) => p.policy === "symbiosis");
    assert.deepEqual(symbiosis?.failures, [{
      repetition: 0,
      runDir: failed?.runDir,
      error: "agent on node exited",
    }]);
    assert.equal(symbiosis?.repetitions, 1);
    assert.equal(symbiosis?.apps.every((a) => a.ratioToStatic !== null), true);
    assert.ok(progress.some((line) => /run 2\/4: symbiosis, repetition 1: FAILED/.test(line)));
    assert.equal(missingResults(comparison), null);
  });
});

Deno.test("missingResults says why a comparison whose other policies all failed has no result", async () => {
  await inTempDir(async (outDir) => {
    const { comparison } = await runComparison(playbook, {
      policies: ["static", "symbiosis"],
      repeat: 1,
      outDir,
      runOne: (request) =>
        request.policy === "static"
          ? simulatedRun(request)
          : Promise.reject(new Error("cannot reach node")),
    });
    assert.equal(missingResults(comparison), "no run of symbiosis finished");
    const symbiosis = comparison.policies.find((p) => p.policy === "symbiosis");
    assert.deepEqual(symbiosis?.failures, [
      { repetition: 0, runDir: null, error: "cannot reach node" },
    ]);
  });
});

Deno.test("runComparison stops after the current run when aborted, and compares what finished", async () => {
  await inTempDir(async (outDir) => {
    const controller = new AbortController();
    const { comparison, interrupted } = await runComparison(playbook, {
      policies: ["static", "symbiosis"],
      repeat: 2,
      outDir,
      signal: controller.signal,
      runOne: async (request) => {
        const done = await simulatedRun(request);
        controller.abort();
        return done;
      },
    });
    assert.equal(interrupted, true);
    assert.deepEqual(comparison.policies.map((p) => p.repetitions), [1, 0]);
  });
});
