import assert from "node:assert/strict";
import { join } from "node:path";
import { syntheticComparisonRuns } from "./_synthetic.ts";
import { aggregateComparison } from "./aggregate.ts";
import { COMPARE_CSV_COLUMNS } from "./compare_csv.ts";
import { compareJson, writeComparison } from "./write.ts";

Deno.test("writeComparison writes compare.json, compare.csv and compare.html into a new directory", async () => {
  const root = await Deno.makeTempDir({ prefix: "spirit_compare_write_" });
  try {
    const comparison = aggregateComparison(syntheticComparisonRuns(), { playbook: "two" });
    const out = join(root, "nested", "cmp");
    const files = await writeComparison(out, comparison);
    assert.deepEqual(files, {
      jsonPath: join(out, "compare.json"),
      csvPath: join(out, "compare.csv"),
      htmlPath: join(out, "compare.html"),
    });
    const json = await Deno.readTextFile(files.jsonPath);
    assert.equal(json, compareJson(comparison));
    assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(comparison)));
    const csv = await Deno.readTextFile(files.csvPath);
    assert.equal(csv.split("\n")[0], COMPARE_CSV_COLUMNS.join(","));
    assert.match(await Deno.readTextFile(files.htmlPath), /^<!DOCTYPE html>/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
