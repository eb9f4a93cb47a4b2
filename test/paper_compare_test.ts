/**
 * System test: a short real comparison of a paper playbook (`spirit compare
 * playbooks/paper/two_apps.ts`, static and symbiosis, 25 s each: 2 measured epochs) with real
 * far-memory workloads and a memory server on this machine. It checks the command end to end
 * (runs, files, the JSON on stdout), not the figures: on a shared machine they are noise.
 * @module
 */
import assert from "node:assert/strict";
import { spirit } from "./fixtures/spirit_cli.ts";

const PLAYBOOK = new URL("../playbooks/paper/two_apps.ts", import.meta.url).pathname;

Deno.test("spirit compare runs a paper playbook for real under two policies and compares them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spirit-paper-compare-" });
  try {
    const run = await spirit(
      "compare",
      PLAYBOOK,
      "--policies",
      "static,symbiosis",
      "--duration",
      "25s",
      "--out",
      dir,
      "--json",
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, await Deno.readTextFile(`${dir}/compare.json`));
    const comparison = JSON.parse(run.stdout);
    assert.equal(comparison.playbook, "two_apps");
    for (const policy of comparison.policies) {
      assert.deepEqual(policy.failures, [], `${policy.policy} failed`);
      assert.equal(policy.runs.length, 1);
      assert.match(policy.runs[0], new RegExp(`^${dir}/runs/two_apps-${policy.policy}-`));
      for (const app of policy.apps) {
        assert.ok(app.meanOpsPerSec > 0, `${policy.policy}/${app.name}: ${app.meanOpsPerSec}`);
        assert.ok(app.ratioToStatic > 0);
      }
    }
    assert.deepEqual(
      comparison.policies.map((p: { policy: string }) => p.policy),
      ["static", "symbiosis"],
    );
    assert.match(run.stderr, /run 1\/2: static, repetition 1: done/);
    assert.ok((await Deno.stat(`${dir}/compare.html`)).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
