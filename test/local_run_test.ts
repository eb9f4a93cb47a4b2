import assert from "node:assert/strict";
import { validatePlaybook } from "../controller/playbook/validate.ts";
import { readEpochs } from "../controller/results/read.ts";
import { runPlaybook } from "../controller/run/run.ts";
import { tinySpec } from "./fixtures/tiny_playbook.ts";

const ROOT = new URL("..", import.meta.url).pathname;

function tinyPlaybook(output: string, policy = "symbiosis") {
  return validatePlaybook(tinySpec(output, policy));
}

/** Waits until the one run under `output` has recorded `count` epochs (polls its epochs.jsonl). */
async function epochsRecorded(output: string, count: number): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    for (const entry of Deno.readDirSync(output)) {
      const text = await Deno.readTextFile(`${output}/${entry.name}/epochs.jsonl`).catch(() => "");
      if (text.split("\n").filter((l) => l.trim() !== "").length >= count) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no run under ${output} recorded ${count} epochs within 120 s`);
}

async function processesMentioning(text: string): Promise<string[]> {
  const out = await new Deno.Command("pgrep", { args: ["-af", text], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) =>
    l.trim() !== "" && !l.includes("pgrep")
  );
}

Deno.test("runPlaybook runs a local playbook end to end and tears everything down", async () => {
  const output = await Deno.makeTempDir({ prefix: "spirit-run-test-" });
  try {
    const result = await runPlaybook(tinyPlaybook(output), { output: "quiet" });
    assert.ok(result.runDir !== null);
    assert.equal(result.interrupted, false);
    const dir = result.runDir;
    for (
      const file of [
        "playbook.json",
        "run.json",
        "epochs.jsonl",
        "apps.csv",
        "events.jsonl",
        "summary.json",
        "report.html",
      ]
    ) {
      assert.ok((await Deno.stat(`${dir}/${file}`)).isFile, file);
    }
    const { records } = await readEpochs(dir);
    assert.ok(records.length >= 5, `${records.length} epochs`);
    const measured = records.filter((r) => r.phase === "measure");
    assert.ok(measured.length >= 2);
    // A workload loads its dataset before its first operation, which takes a few seconds on a
    // busy machine: throughput is required once every app has been seen running.
    const running = measured.findIndex((r) => r.apps.every((a) => (a.opsPerSec ?? 0) > 0));
    assert.ok(running >= 0, "every app reached throughput");
    for (const record of measured) {
      assert.deepEqual(record.apps.map((a) => a.name), ["kv", "scan"]);
      for (const app of measured.indexOf(record) >= running ? record.apps : []) {
        assert.ok((app.opsPerSec ?? 0) > 0, `${app.name} throughput in epoch ${record.epoch}`);
      }
      const cache = record.apps.reduce((a, b) => a + b.cacheMiB, 0);
      const bandwidth = record.apps.reduce((a, b) => a + b.bandwidthMbps, 0);
      assert.ok(cache <= 8 + 1e-6 && bandwidth <= 80 + 1e-6);
      assert.ok(record.timings !== undefined && record.timings.totalMs >= 0);
    }
    const events = (await Deno.readTextFile(`${dir}/events.jsonl`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.ok(events.some((e) => e.kind === "start" && /memory server/.test(e.message)));
    assert.ok(events.some((e) => e.kind === "stop" && /memory server stopped/.test(e.message)));
    const { runId, hostDir } = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
    assert.deepEqual(await processesMentioning(runId), []);
    await assert.rejects(Deno.stat(hostDir), Deno.errors.NotFound);
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
    assert.equal(summary.apps.length, 2);
  } finally {
    await Deno.remove(output, { recursive: true });
  }
});

Deno.test("spirit run --dry-run prints the plan and creates nothing", async () => {
  const output = await Deno.makeTempDir({ prefix: "spirit-dry-run-" });
  try {
    const playbook = `${output}/pb.ts`;
    await Deno.writeTextFile(
      playbook,
      `import { definePlaybook } from "${ROOT}mod.ts";\nexport default definePlaybook(${
        JSON.stringify({
          name: "dry",
          hosts: {
            mem: { role: "memory", memserver: { capacity: "64MiB", port: 0 } },
            node: { role: "compute", memoryNode: "mem", cache: "8MiB", bandwidth: "80Mbps" },
          },
          apps: [{ name: "kv", host: "node", workload: { kind: "kv", dataset: "16MiB" } }],
          duration: "10s",
          output: `${output}/results`,
        })
      });\n`,
    );
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}controller/cli.ts`, "run", playbook, "--dry-run"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    assert.match(stdout, /start: spirit memserver --listen 127\.0\.0\.1:0/);
    assert.match(stdout, /launch kv: workload kv/);
    await assert.rejects(Deno.stat(`${output}/results`), Deno.errors.NotFound);
    // The same playbook file runs directly, with the same flags (outside this checkout, Deno
    // needs its configuration for the npm imports).
    const direct = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        `${ROOT}deno.json`,
        playbook,
        "--dry-run",
        "--policy",
        "static",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(direct.code, 0, new TextDecoder().decode(direct.stderr));
    assert.match(new TextDecoder().decode(direct.stdout), /policy static/);
  } finally {
    await Deno.remove(output, { recursive: true });
  }
});

Deno.test("spirit run rejects an invalid playbook before touching any host", async () => {
  const output = await Deno.makeTempDir({ prefix: "spirit-bad-run-" });
  try {
    const playbook = `${output}/bad.ts`;
    await Deno.writeTextFile(
      playbook,
      `export default { name: "bad", hosts: { node: { role: "compute", memoryNode: "nowhere", cache: "8MiB", bandwidth: "80Mbps" } }, apps: [{ name: "kv", host: "node", workload: { kind: "kv", dataset: "16MiB" } }], duration: "10s", output: "${output}/results" };\n`,
    );
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}controller/cli.ts`, "run", playbook],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 2);
    assert.match(new TextDecoder().decode(run.stderr), /memoryNode/);
    await assert.rejects(Deno.stat(`${output}/results`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(output, { recursive: true });
  }
});

Deno.test("runPlaybook stops early on abort (Ctrl-C), tears down and still writes the results", async () => {
  const output = await Deno.makeTempDir({ prefix: "spirit-abort-test-" });
  try {
    const playbook = validatePlaybook({ ...tinySpec(output), name: "abort", duration: "60s" });
    const controller = new AbortController();
    const running = runPlaybook(playbook, { output: "quiet", signal: controller.signal });
    await epochsRecorded(output, 2);
    controller.abort();
    const result = await running;
    assert.equal(result.interrupted, true);
    const dir = result.runDir ?? "";
    const { records } = await readEpochs(dir);
    assert.ok(records.length >= 2 && records.length < 10, `${records.length} epochs`);
    assert.ok((await Deno.stat(`${dir}/report.html`)).isFile);
    const events = (await Deno.readTextFile(`${dir}/events.jsonl`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.ok(events.some((e) => e.kind === "stop" && /interrupted/.test(e.message)));
    const { runId, hostDir } = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
    assert.deepEqual(await processesMentioning(runId), []);
    await assert.rejects(Deno.stat(hostDir), Deno.errors.NotFound);
  } finally {
    await Deno.remove(output, { recursive: true });
  }
});
