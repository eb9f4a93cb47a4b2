import assert from "node:assert/strict";
import { syntheticRun } from "./_synthetic.ts";
import { aggregateComparison } from "./aggregate.ts";
import { COMPARE_CSV_COLUMNS, compareCsv } from "./compare_csv.ts";

Deno.test("compareCsv has one row per policy and app, and one for a policy without runs", () => {
  const data = (policy: string, kv: number) =>
    syntheticRun({
      runDir: `r-${policy}`,
      policy,
      apps: [
        { name: "kv", opsPerSec: kv, cacheMiB: 500, bandwidthMbps: 500 },
        { name: "scan, big", opsPerSec: 50, cacheMiB: 500, bandwidthMbps: 500 },
      ],
    });
  const comparison = aggregateComparison([
    {
      policy: "static",
      repetition: 0,
      runDir: "r-static",
      result: { ok: true, data: data("static", 100) },
    },
    {
      policy: "trade",
      repetition: 0,
      runDir: "r-trade",
      result: { ok: true, data: data("trade", 150) },
    },
    { policy: "drf", repetition: 0, runDir: null, result: { ok: false, error: "x" } },
  ], { playbook: "p" });
  const lines = compareCsv(comparison).trimEnd().split("\n");
  assert.equal(lines[0], COMPARE_CSV_COLUMNS.join(","));
  assert.equal(lines.length, 6);
  assert.equal(
    lines[3],
    "trade,kv,cn1,1,150,,1.5,static,,,1.224744871391589,1,0.9615384615384616,0",
  );
  assert.match(lines[4] ?? "", /^trade,"scan, big",cn1,1,50,,1,static,/);
  assert.equal(lines[5], "drf,,,,,,,,,,,,,1");
});
