/**
 * The embedded default under `static` and under `symbiosis`: the market must come out ahead
 * (issue 5): geometric-mean gain of at least 5 %, no app worse by more than 5 %, the stream
 * app with more bandwidth and the skewed kv app with more cache than under static.
 */
import assert from "node:assert/strict";
import localPlaybook from "../playbooks/local.ts";
import { applyOverrides } from "../controller/playbook/overrides.ts";
import type { RunSummary } from "../controller/results/types.ts";
import { runPlaybook } from "../controller/run/run.ts";

async function summaryOf(policy: string, output: string): Promise<RunSummary> {
  const playbook = applyOverrides(localPlaybook, {
    policy,
    duration: "60s",
    epoch: "3s",
    out: output,
  });
  const { runDir } = await runPlaybook(playbook, { output: "quiet" });
  if (runDir === null) throw new Error("no run directory");
  return JSON.parse(await Deno.readTextFile(`${runDir}/summary.json`)) as RunSummary;
}

Deno.test("the embedded playbook: symbiosis beats static (5 % geometric mean, no app 5 % worse)", async () => {
  const output = await Deno.makeTempDir({ prefix: "spirit-demo-compare-" });
  try {
    const baseline = await summaryOf("static", output);
    const market = await summaryOf("symbiosis", output);
    const byName = (s: RunSummary) => new Map(s.apps.map((a) => [a.name, a]));
    const before = byName(baseline);
    const after = byName(market);
    const ratios: number[] = [];
    const lines: string[] = [];
    for (const [name, app] of after) {
      const base = before.get(name);
      if (base?.meanOpsPerSec == null || app.meanOpsPerSec == null) {
        throw new Error(`no throughput for ${name}`);
      }
      const ratio = app.meanOpsPerSec / base.meanOpsPerSec;
      ratios.push(ratio);
      lines.push(
        `${name}: ${base.meanOpsPerSec.toFixed(0)} -> ${app.meanOpsPerSec.toFixed(0)} ops/s (x${
          ratio.toFixed(3)
        }), ` +
          `cache ${base.meanCacheMiB.toFixed(0)} -> ${app.meanCacheMiB.toFixed(0)} MiB, ` +
          `bandwidth ${base.meanBandwidthMbps.toFixed(0)} -> ${
            app.meanBandwidthMbps.toFixed(0)
          } Mbps`,
      );
    }
    const geometricMean = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
    console.log(`${lines.join("\n")}\ngeometric-mean gain x${geometricMean.toFixed(3)}`);
    assert.ok(geometricMean >= 1.05, `geometric-mean gain ${geometricMean}`);
    for (const [i, r] of ratios.entries()) {
      assert.ok(r >= 0.95, `app ${[...after.keys()][i]} ratio ${r}`);
    }
    const scanBefore = before.get("scan")?.meanBandwidthMbps ?? Infinity;
    assert.ok(
      (after.get("scan")?.meanBandwidthMbps ?? 0) > scanBefore,
      "the stream app gets more bandwidth",
    );
    const kvBefore = before.get("kv-skewed")?.meanCacheMiB ?? Infinity;
    assert.ok(
      (after.get("kv-skewed")?.meanCacheMiB ?? 0) > kvBefore,
      "the skewed kv app gets more cache",
    );
  } finally {
    await Deno.remove(output, { recursive: true });
  }
});
