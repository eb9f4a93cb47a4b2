import assert from "node:assert/strict";
import { validatePlaybook } from "../controller/playbook/validate.ts";
import { readEpochs } from "../controller/results/read.ts";
import { runPlaybook } from "../controller/run/run.ts";
import { readLines } from "../common/lines.ts";
import { tinySpec } from "./fixtures/tiny_playbook.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const FAKE_WORKLOAD = new URL("./fixtures/fake_farmem_workload.ts", import.meta.url).pathname;

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

Deno.test("runPlaybook re-attaches to the agent when its session is lost, and the apps run on", async () => {
  const output = await Deno.makeTempDir({ prefix: "spirit-reattach-test-" });
  try {
    const playbook = validatePlaybook({
      ...JSON.parse(JSON.stringify(tinySpec(output))),
      name: "reattach",
      duration: "8s",
    });
    const running = runPlaybook(playbook, { output: "quiet" });
    // Once the loop runs, kill the session process (not the daemon) as a dropped connection would.
    await epochsRecorded(output, 2);
    const sessions = await processesMentioning(
      "agent --state-dir /tmp/spirit-reattach-.*--sample-interval",
    );
    const pid = sessions[0]?.split(" ")[0];
    const killed = pid !== undefined;
    if (killed) Deno.kill(Number(pid), "SIGKILL");
    assert.ok(killed, "found the agent session to kill");
    const result = await running;
    const dir = result.runDir ?? "";
    const events = (await Deno.readTextFile(`${dir}/events.jsonl`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.ok(
      events.some((e) => e.kind === "restart" && /re-attached/.test(e.message)),
      JSON.stringify(events),
    );
    const { records } = await readEpochs(dir);
    const last = records.at(-1);
    for (const app of last?.apps ?? []) {
      assert.ok((app.opsPerSec ?? 0) > 0, `${app.name} after re-attach`);
    }
  } finally {
    await Deno.remove(output, { recursive: true });
  }
});

Deno.test("runPlaybook restarts a memory server that dies and relaunches its apps", async () => {
  const output = await Deno.makeTempDir({ prefix: "spirit-heal-test-" });
  try {
    const playbook = validatePlaybook({ ...tinySpec(output), name: "heal", duration: "14s" });
    const running = runPlaybook(playbook, { output: "quiet" });
    await epochsRecorded(output, 2);
    const servers = await processesMentioning(
      "memserver --listen .* --token-file /tmp/spirit-heal-",
    );
    const pid = servers[0]?.split(" ")[0];
    const killed = pid !== undefined;
    if (killed) Deno.kill(Number(pid), "SIGKILL");
    assert.ok(killed, "found the memory server to kill");
    const result = await running;
    const dir = result.runDir ?? "";
    const events = (await Deno.readTextFile(`${dir}/events.jsonl`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.ok(events.some((e) => e.kind === "fault" && /memory server exited/.test(e.message)));
    assert.ok(
      events.some((e) => e.kind === "restart" && /memory server restarted/.test(e.message)),
    );
    assert.equal(
      events.filter((e) => e.kind === "restart" && /relaunched/.test(e.message)).length,
      2,
    );
    // The relaunched workloads load their dataset again before they run: on a busy machine
    // that takes a few epochs, so what is required is that they ran again before the end.
    const restartedMs = Date.parse(
      events.find((e) => e.kind === "restart" && /memory server restarted/.test(e.message)).time,
    );
    const { records } = await readEpochs(dir);
    const after = records.filter((r) => Date.parse(r.time) > restartedMs);
    assert.ok(
      after.some((r) => r.apps.every((a) => (a.opsPerSec ?? 0) > 0)),
      `every app ran again after the restart: ${JSON.stringify(after.map((r) => r.apps))}`,
    );
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

Deno.test("spirit down cleans up what a crashed controller left behind, and is idempotent", async () => {
  const output = await Deno.makeTempDir({ prefix: "spirit-down-test-" });
  const runId = `downtest-${crypto.randomUUID().slice(0, 8)}`;
  const hostDir = `/tmp/spirit-${runId}`;
  const stateDir = `${hostDir}/agent-node`;
  try {
    // What a killed controller leaves: an agent daemon with a running app, in the run's directory.
    await Deno.mkdir(hostDir, { recursive: true, mode: 0o700 });
    const session = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}controller/cli.ts`, "agent", "--state-dir", stateDir],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const writer = session.stdin.getWriter();
    await writer.write(new TextEncoder().encode(
      JSON.stringify({
        id: 1,
        op: "launch",
        app: {
          appId: "sleeper",
          allocation: { cacheBytes: 1 << 20, bandwidthBytesPerSec: 1e6 },
          enforcement: "farmem",
          // The argv names the run directory, as a real workload's token file does.
          program: { kind: "argv", argv: [Deno.execPath(), "run", "-A", FAKE_WORKLOAD, hostDir] },
        },
      }) + "\n",
    ));
    // Wait for the launch's answer, then drop the session as a dying controller would.
    for await (const line of readLines(session.stdout)) {
      if (line.includes('"id":1')) {
        assert.match(line, /"ok":true/);
        break;
      }
    }
    await writer.close();
    await session.status;
    assert.ok((await processesMentioning(hostDir)).length >= 2, "daemon and app left running");
    const playbook = tinyPlaybook(output);
    const runDir = `${output}/run`;
    await Deno.mkdir(runDir);
    await Deno.writeTextFile(
      `${runDir}/playbook.json`,
      JSON.stringify({ ...playbook, hosts: { node: playbook.hosts.node } }),
    );
    await Deno.writeTextFile(
      `${runDir}/run.json`,
      JSON.stringify({ runId, hostDir, startedAt: new Date().toISOString() }),
    );
    for (let attempt = 0; attempt < 2; attempt++) {
      const down = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${ROOT}controller/cli.ts`, "down", runDir],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(down.code, 0, new TextDecoder().decode(down.stderr));
    }
    assert.deepEqual(await processesMentioning(hostDir), []);
    await assert.rejects(Deno.stat(hostDir), Deno.errors.NotFound);
  } finally {
    await new Deno.Command("pkill", { args: ["-KILL", "-f", hostDir] }).output();
    await Deno.remove(hostDir, { recursive: true }).catch(() => undefined);
    await Deno.remove(output, { recursive: true });
  }
});
