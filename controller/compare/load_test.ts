import assert from "node:assert/strict";
import { join } from "node:path";
import { syntheticRun } from "./_synthetic.ts";
import { loadCompareRun, loadRun } from "./load.ts";

async function writeRun(dir: string, options: { warmup?: number } = {}): Promise<void> {
  const data = syntheticRun({
    runDir: dir,
    policy: "static",
    warmup: options.warmup ?? 0,
    epochs: 4,
    apps: [{ name: "kv", opsPerSec: 100, cacheMiB: 500, bandwidthMbps: 500 }],
  });
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, "epochs.jsonl"),
    data.records.map((r) => JSON.stringify(r) + "\n").join(""),
  );
  await Deno.writeTextFile(
    join(dir, "events.jsonl"),
    JSON.stringify({ time: "2026-01-01T00:00:01Z", kind: "start", message: "go" }) + "\n",
  );
  await Deno.writeTextFile(join(dir, "playbook.json"), JSON.stringify({ name: "two", apps: [] }));
}

Deno.test("loadRun reads a run directory's records, events and playbook", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spirit_compare_load_" });
  try {
    await writeRun(dir);
    const run = await loadRun(dir);
    assert.equal(run.runDir, dir);
    assert.equal(run.records.length, 4);
    assert.equal(run.events[0]?.message, "go");
    assert.deepEqual(run.playbook, { name: "two", apps: [] });
    assert.equal(run.truncated, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCompareRun turns a finished run into data and keeps a run's own error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spirit_compare_load_" });
  try {
    await writeRun(dir);
    const ok = await loadCompareRun({ policy: "static", repetition: 1, runDir: dir });
    assert.equal(ok.result.ok, true);
    const failed = await loadCompareRun({
      policy: "trade",
      repetition: 0,
      runDir: dir,
      error: "agent on cn1 unreachable",
    });
    assert.deepEqual(failed, {
      policy: "trade",
      repetition: 0,
      runDir: dir,
      result: { ok: false, error: "agent on cn1 unreachable" },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCompareRun reports unreadable, missing and warm-up-only runs as failures", async () => {
  const root = await Deno.makeTempDir({ prefix: "spirit_compare_load_" });
  try {
    const missing = await loadCompareRun({
      policy: "static",
      repetition: 0,
      runDir: join(root, "gone"),
    });
    assert.equal(missing.result.ok, false);
    assert.match(!missing.result.ok ? missing.result.error : "", /^cannot read .*gone: /);
    await Deno.mkdir(join(root, "bad"));
    await Deno.writeTextFile(join(root, "bad", "epochs.jsonl"), "{oops\n{}\n");
    const bad = await loadCompareRun({
      policy: "static",
      repetition: 0,
      runDir: join(root, "bad"),
    });
    assert.match(!bad.result.ok ? bad.result.error : "", /epochs\.jsonl:1: not a JSON record/);
    await writeRun(join(root, "warm"), { warmup: 4 });
    const warm = await loadCompareRun({
      policy: "static",
      repetition: 0,
      runDir: join(root, "warm"),
    });
    assert.match(!warm.result.ok ? warm.result.error : "", /no measured epoch/);
    const none = await loadCompareRun({ policy: "static", repetition: 0, runDir: null });
    assert.match(!none.result.ok ? none.result.error : "", /no run directory/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
