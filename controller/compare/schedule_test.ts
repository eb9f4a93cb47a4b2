import assert from "node:assert/strict";
import { comparisonSchedule, defaultCompareDir, parsePolicies, parseRepeat } from "./schedule.ts";

Deno.test("parsePolicies keeps the order given and adds static first when it is missing", () => {
  assert.deepEqual(parsePolicies("symbiosis, static ,drf"), {
    policies: ["symbiosis", "static", "drf"],
    addedReference: false,
  });
  assert.deepEqual(parsePolicies("symbiosis,harvest"), {
    policies: ["static", "symbiosis", "harvest"],
    addedReference: true,
  });
});

Deno.test("parsePolicies names an unknown policy with the accepted ones, and refuses empty or repeated entries", () => {
  assert.throws(
    () => parsePolicies("static,best"),
    /--policies: unknown policy "best" \(accepted: symbiosis, static, ideal, harvest, trade, drf\)/,
  );
  assert.throws(() => parsePolicies(""), /--policies: no policy given/);
  assert.throws(() => parsePolicies("static,,drf"), /entry 2 is empty/);
  assert.throws(() => parsePolicies("drf,drf"), /"drf" is given twice/);
});

Deno.test("parseRepeat takes whole numbers from 1 to 100 only", () => {
  assert.equal(parseRepeat("3"), 3);
  for (const bad of ["0", "-1", "1.5", "2x", "", "101"]) {
    assert.throws(() => parseRepeat(bad), /--repeat: expected a whole number from 1 to 100/);
  }
});

Deno.test("comparisonSchedule interleaves the policies and rotates who runs first", () => {
  const runs = comparisonSchedule(["static", "symbiosis", "drf"], 3);
  assert.deepEqual(runs.map((r) => `${r.repetition}:${r.policy}`), [
    "0:static",
    "0:symbiosis",
    "0:drf",
    "1:symbiosis",
    "1:drf",
    "1:static",
    "2:drf",
    "2:static",
    "2:symbiosis",
  ]);
  // Over as many repetitions as policies, every policy runs first exactly once.
  const firsts = [0, 1, 2].map((r) => runs.find((run) => run.repetition === r)?.policy);
  assert.deepEqual(new Set(firsts), new Set(["static", "symbiosis", "drf"]));
});

Deno.test("defaultCompareDir names the playbook and the UTC time under the playbook's output", () => {
  assert.equal(
    defaultCompareDir("results/", "two_apps", new Date("2026-01-02T03:04:05.678Z")),
    "results/compare-two_apps-20260102-030405",
  );
});
