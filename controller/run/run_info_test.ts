import assert from "node:assert/strict";
import { hostDirFor, parseRunInfo, runInfoFor, RunRecordError } from "./run_info.ts";

Deno.test("runInfoFor derives the host directory from the run id", () => {
  const info = runInfoFor("local-20260101-000000-abcdef", {
    playbook: "local",
    startedAt: "2026-01-01T00:00:00Z",
  });
  assert.equal(info.hostDir, "/tmp/spirit-local-20260101-000000-abcdef");
  assert.deepEqual(parseRunInfo(JSON.stringify(info), "run.json"), info);
});

Deno.test("hostDirFor refuses run ids that could leave /tmp", () => {
  for (const id of ["../etc", "a/b", "", "-x"]) assert.throws(() => hostDirFor(id), RangeError);
});

Deno.test("parseRunInfo refuses a record whose host directory is not the run's", () => {
  const text = JSON.stringify({ runId: "r1", hostDir: "/home/user", startedAt: "x" });
  assert.throws(
    () => parseRunInfo(text, "results/r1/run.json"),
    (error: unknown) =>
      error instanceof RunRecordError &&
      error.message ===
        'results/r1/run.json: hostDir "/home/user" is not the host directory of run r1 ' +
          "(/tmp/spirit-r1); refusing to act on a tampered record",
  );
});

Deno.test("parseRunInfo names the malformed field", () => {
  assert.throws(
    () => parseRunInfo(JSON.stringify({ runId: "x/../y", hostDir: "/tmp/a", startedAt: "" }), "f"),
    (error: unknown) => error instanceof RunRecordError && /^f: runId: /.test(error.message),
  );
  assert.throws(() => parseRunInfo("{", "f"), /f: not JSON/);
});
