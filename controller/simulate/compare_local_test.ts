/**
 * The embedded playbook (playbooks/local.ts) under static and under symbiosis, in the
 * simulator: the market must come out ahead by the bar, deterministically.
 */
import assert from "node:assert/strict";
import localPlaybook from "../../playbooks/local.ts";
import { applyOverrides } from "../playbook/overrides.ts";
import type { RunSummary } from "../results/types.ts";
import { DEMO_BAR } from "../run/demo_bench.ts";
import { policyGain } from "../run/policy_gain.ts";
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

Deno.test("local.ts in the simulator: symbiosis beats static (5 % geometric mean, no app 5 % worse)", async () => {
  const runs = await summaries();
  const baseline = runs.get("static");
  const market = runs.get("symbiosis");
  assert.ok(baseline !== undefined && market !== undefined);
  const gain = policyGain(baseline, market);
  assert.equal(gain.apps.length, 3);
  assert.ok(
    gain.geometricMeanRatio >= DEMO_BAR.geometricMeanRatio,
    `geometric-mean gain x${gain.geometricMeanRatio.toFixed(3)}`,
  );
  for (const app of gain.apps) {
    assert.ok(app.ratio >= DEMO_BAR.minRatio, `${app.name}: x${app.ratio.toFixed(3)}`);
  }
  const scan = gain.apps.find((a) => a.name === "scan");
  assert.ok(
    scan !== undefined && scan.bandwidthMbps > scan.baselineBandwidthMbps,
    "scan bandwidth",
  );
  const kv = gain.apps.find((a) => a.name === "kv-skewed");
  assert.ok(kv !== undefined && kv.cacheMiB > kv.baselineCacheMiB, "the skewed kv gets more cache");
});
