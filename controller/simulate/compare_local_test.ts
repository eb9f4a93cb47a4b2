/**
 * The embedded playbook (playbooks/local.ts) under static and under symbiosis, in the
 * simulator: the market must come out ahead by the bar, deterministically.
 */
import assert from "node:assert/strict";
import localPlaybook from "../../playbooks/local.ts";
import { applyOverrides } from "../playbook/overrides.ts";
import type { RunSummary } from "../results/types.ts";
import { simulatePlaybook } from "./simulate.ts";

async function summaries(): Promise<Map<string, RunSummary>> {
  const output = await Deno.makeTempDir({ prefix: "spirit-compare-local-" });
  try {
    const result = new Map<string, RunSummary>();
    for (const policy of ["static", "symbiosis"]) {
      const playbook = applyOverrides(localPlaybook, { policy, out: output });
      const { runDir } = await simulatePlaybook(playbook, { seed: 1, startWallMs: 0 });
      result.set(policy, JSON.parse(await Deno.readTextFile(`${runDir}/summary.json`)));
    }
    return result;
  } finally {
    await Deno.remove(output, { recursive: true });
  }
}

const byName = (summary: RunSummary | undefined) =>
  new Map((summary?.apps ?? []).map((a) => [a.name, a]));

Deno.test("local.ts in the simulator: symbiosis beats static (5 % geometric mean, no app 5 % worse)", async () => {
  const runs = await summaries();
  const before = byName(runs.get("static"));
  const after = byName(runs.get("symbiosis"));
  const ratios = [...after].map(([name, app]) => {
    const base = before.get(name)?.meanOpsPerSec;
    assert.ok(base != null && app.meanOpsPerSec !== null, name);
    return app.meanOpsPerSec / base;
  });
  const geometricMean = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
  assert.ok(geometricMean >= 1.05, `geometric-mean gain x${geometricMean.toFixed(3)}`);
  for (const [i, ratio] of ratios.entries()) {
    assert.ok(ratio >= 0.95, `${[...after.keys()][i]}: x${ratio.toFixed(3)}`);
  }
  const scan = (m: typeof after) => m.get("scan")?.meanBandwidthMbps ?? NaN;
  assert.ok(scan(after) > scan(before), "the scan gets more bandwidth");
  const kv = (m: typeof after) => m.get("kv-skewed")?.meanCacheMiB ?? NaN;
  assert.ok(kv(after) > kv(before), "the skewed kv gets more cache");
});
