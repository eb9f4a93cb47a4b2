import assert from "node:assert/strict";
import { syntheticEpochs } from "../results/_synthetic.ts";
import { summarise } from "../results/summary.ts";
import type { EpochRecord } from "../results/types.ts";
import { formatPlaybookFigures, playbookFigures } from "./real_apps_figures.ts";

/** A run whose kv and scan averaged `kv` and `scan` ops/s, predicted `error` too high. */
function run(
  policy: string,
  { kv, scan, error = 0.1 }: { kv: number; scan: number; error?: number },
) {
  const records: EpochRecord[] = syntheticEpochs(4, { policy }).map((r) => ({
    ...r,
    apps: r.apps.map((a) => {
      const ops = a.name === "kv" ? kv : scan;
      return { ...a, opsPerSec: ops, predictedOpsPerSec: ops * (1 + error) };
    }),
    nodes: r.nodes.map((n) => ({ ...n, allocated: { cacheMiB: 512, bandwidthMbps: 995 } })),
  }));
  return {
    runDir: `/runs/${policy}`,
    summary: summarise(records, { playbook: "p" }),
    records,
    loadAverage: [1, 2] as [number, number],
  };
}

const rounds = [
  {
    static: run("static", { kv: 100, scan: 10 }),
    symbiosis: run("symbiosis", { kv: 130, scan: 10 }),
  },
  {
    static: run("static", { kv: 100, scan: 10 }),
    symbiosis: run("symbiosis", { kv: 110, scan: 9 }),
  },
];

Deno.test("playbookFigures pools the rounds' means and keeps their range", () => {
  const f = playbookFigures("mix2", rounds);
  const kv = f.apps.find((a) => a.name === "kv");
  assert.deepEqual(kv?.ratio, { pooled: 1.2, min: 1.1, max: 1.3 });
  const scan = f.apps.find((a) => a.name === "scan");
  assert.ok(Math.abs((scan?.ratio.pooled ?? 0) - 0.95) < 1e-12);
  assert.ok(Math.abs(f.geoMeanGain.pooled - Math.sqrt(1.2 * 0.95)) < 1e-12);
  assert.ok(Math.abs(f.minRatio.pooled - 0.95) < 1e-12);
  assert.deepEqual(f.minAllocatedShare, { cache: 1, bandwidth: 0.995 });
});

Deno.test("playbookFigures checks each target against the issue's bar", () => {
  const f = playbookFigures("mix2", rounds);
  assert.equal(f.targets.geoMeanGain.met, true);
  assert.equal(f.targets.minRatio.met, true);
  assert.equal(f.targets.allocatedShare.met, true);
  assert.ok(Math.abs((f.prediction.median ?? 0) - 0.1) < 1e-9);
  assert.equal(f.targets.medianPredictionError.met, true);
  const worse = playbookFigures("mix2", [{
    static: run("static", { kv: 100, scan: 10 }),
    symbiosis: run("symbiosis", { kv: 104, scan: 9, error: 0.3 }),
  }]);
  assert.equal(worse.targets.geoMeanGain.met, false);
  assert.equal(worse.targets.minRatio.met, false);
  assert.equal(worse.targets.medianPredictionError.met, false);
});

Deno.test("formatPlaybookFigures prints each program's ratio, the bars and the verdicts", () => {
  const text = formatPlaybookFigures(playbookFigures("mix2", rounds));
  assert.match(text, /^kv\s+100\s+120 \(110-130\)\s+x1\.200 \(1\.10-1\.30\)/m);
  assert.match(text, /geometric-mean gain x1\.068 \(0\.995-1\.140\): met \(bar x1\.05\)/);
  assert.match(text, /prediction error: median 10\.0%/);
});
