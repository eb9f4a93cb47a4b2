import assert from "node:assert/strict";
import { validatePlaybook } from "../playbook/validate.ts";
import { readEpochs, readEvents } from "../results/read.ts";
import type { EpochRecord } from "../results/types.ts";
import { simulatePlaybook } from "./simulate.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function spec(output: string, extra: Record<string, unknown> = {}) {
  return {
    name: "sim",
    hosts: {
      mem: { role: "memory", memserver: { capacity: "256MiB", port: 0 } },
      node: { role: "compute", memoryNode: "mem", cache: "32MiB", bandwidth: "80Mbps" },
    },
    apps: [
      { name: "kv", host: "node", workload: { kind: "kv", dataset: "64MiB", zipf: 0.99 } },
      { name: "scan", host: "node", workload: { kind: "stream", dataset: "64MiB" } },
    ],
    policy: "symbiosis",
    epoch: "5s",
    warmup: "15s",
    duration: "2m",
    output,
    ...extra,
  };
}

async function withOutput<T>(body: (output: string) => Promise<T>): Promise<T> {
  const output = await Deno.makeTempDir({ prefix: "spirit-simulate-test-" });
  try {
    return await body(output);
  } finally {
    await Deno.remove(output, { recursive: true });
  }
}

/** The records without what depends on the machine (the loop's own timings). */
function behaviour(records: readonly EpochRecord[]) {
  return records.map(({ timings: _timings, nodes, ...rest }) => ({
    ...rest,
    nodes: nodes.map(({ auctionMs: _auctionMs, ...node }) => node),
  }));
}

async function records(seed: number, extra: Record<string, unknown> = {}) {
  return await withOutput(async (output) => {
    const { runDir } = await simulatePlaybook(validatePlaybook(spec(output, extra)), {
      seed,
      startWallMs: 0,
    });
    return (await readEpochs(runDir)).records;
  });
}

Deno.test("simulatePlaybook is deterministic: the same seed gives the same run", async () => {
  assert.deepEqual(behaviour(await records(5)), behaviour(await records(5)));
});

Deno.test("simulatePlaybook's noise follows the seed", async () => {
  const ops = (rs: EpochRecord[]) => rs.map((r) => r.apps.map((a) => a.opsPerSec));
  assert.notDeepEqual(ops(await records(5)), ops(await records(6)));
});

Deno.test("simulatePlaybook runs an hour of 5 s epochs, virtual time in the records", async () => {
  const hour = await records(1, { duration: "1h" });
  assert.equal(hour.length, 720);
  assert.equal(hour.at(-1)?.elapsedMs, 3_600_000);
  assert.equal(hour.at(-1)?.time, new Date(3_600_000).toISOString());
});

Deno.test("simulatePlaybook refuses a playbook without a duration", async () => {
  await withOutput(async (output) => {
    await assert.rejects(
      simulatePlaybook(validatePlaybook(spec(output, { duration: "forever" }))),
      /needs a duration/,
    );
  });
});

Deno.test("simulatePlaybook names unknown apps in a fault", async () => {
  await withOutput(async (output) => {
    await assert.rejects(
      simulatePlaybook(validatePlaybook(spec(output)), {
        faults: [{ kind: "app-crash", app: "nope", atMs: 1000 }],
      }),
      /faults\[0\] \(app-crash\): no app "nope" in playbook sim/,
    );
  });
});

async function spirit(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}controller/cli.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

async function scenarioFile(output: string, app: string, model: Record<string, unknown>) {
  const file = `${output}/scenario.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      nodes: [{ id: "n", cacheMiB: 32, bandwidthMbps: 80 }],
      apps: [{ id: app, node: "n", model }],
    }),
  );
  return file;
}

async function playbookFile(output: string, extra: Record<string, unknown> = {}) {
  const file = `${output}/pb.ts`;
  await Deno.writeTextFile(
    file,
    `export default ${JSON.stringify(spec(`${output}/results`, extra))};\n`,
  );
  return file;
}

Deno.test("spirit simulate prints each app's figures and writes a run directory", async () => {
  await withOutput(async (output) => {
    const file = await playbookFile(output);
    const run = await spirit(["simulate", file, "--policy", "static", "--duration", "1m"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Simulated 12 epochs \(60 s of virtual time\)/);
    assert.match(run.stdout, /^kv\s+node\s+\d+/m);
    const dir = /Results: (\S+)/.exec(run.stdout)?.[1] ?? "";
    assert.match(dir, /sim-static-/);
    assert.ok((await Deno.stat(`${dir}/report.html`)).isFile);
  });
});

Deno.test("spirit simulate --apps-from takes the apps' models from a scenario file", async () => {
  await withOutput(async (output) => {
    const file = await playbookFile(output);
    const scenario = await scenarioFile(output, "kv", { kind: "constant", opsPerSec: 1234 });
    const run = await spirit(["simulate", file, "--apps-from", scenario, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.epochs, 24);
    const kv = result.summary.apps.find((a: { name: string }) => a.name === "kv");
    assert.ok(Math.abs(kv.meanOpsPerSec - 1234) / 1234 < 0.05, `kv ${kv.meanOpsPerSec}`);
  });
});

Deno.test("spirit simulate names a scenario app the playbook does not have (exit 2)", async () => {
  await withOutput(async (output) => {
    const file = await playbookFile(output);
    const scenario = await scenarioFile(output, "other", { kind: "constant", opsPerSec: 1 });
    const run = await spirit(["simulate", file, "--apps-from", scenario]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /scenario's apps other are not apps of playbook sim/);
    await assert.rejects(Deno.stat(`${output}/results`), Deno.errors.NotFound);
  });
});

Deno.test("spirit simulate rejects a bad policy with the accepted values (exit 2)", async () => {
  await withOutput(async (output) => {
    const run = await spirit(["simulate", await playbookFile(output), "--policy", "best"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /policy \(--policy\): must be one of "symbiosis"/);
  });
});

Deno.test("a simulated unmodified program gives throughput only from its source, and then a model", async () => {
  const command = (name: string, throughput: Record<string, unknown>) => ({
    name,
    host: "node",
    command: { argv: ["redis-server"], throughput },
  });
  const all = await records(2, {
    apps: [
      command("counted", { kind: "command", argv: ["redis-cli", "info"] }),
      command("blind", { kind: "none" }),
    ],
  });
  const measured = all.filter((r) => r.epoch > 0);
  const app = (r: EpochRecord, name: string) => r.apps.find((a) => a.name === name);
  assert.ok(measured.every((r) => (app(r, "counted")?.opsPerSec ?? 0) > 0));
  assert.ok(measured.every((r) => app(r, "blind")?.opsPerSec === null));
  assert.equal(app(all.at(-1) as EpochRecord, "counted")?.model, "mrc");
  assert.equal(app(all.at(-1) as EpochRecord, "blind")?.model, "equal-split");
  // It swaps: what it uses remotely is what its cgroup swapped in and out.
  assert.ok((app(all.at(-1) as EpochRecord, "counted")?.used.remoteReadMbps ?? 0) > 0);
});

Deno.test("a simulated phased app's phase changes are events of the run, timed by its schedule", async () => {
  const phases = [{ kind: "kv", duration: "20s" }, { kind: "stream", duration: "30s" }];
  const events = await withOutput(async (output) => {
    const playbook = validatePlaybook(spec(output, {
      apps: [{ name: "p", host: "node", workload: { kind: "phased", dataset: "64MiB", phases } }],
      duration: "1m",
    }));
    const { runDir } = await simulatePlaybook(playbook, { seed: 1, startWallMs: 0 });
    return await readEvents(runDir);
  });
  const changes = events.filter((e) => e.kind === "phase");
  // The app is launched at virtual time 0; every change is seen by the sample taken at it.
  assert.deepEqual(
    changes.map((e) => [Date.parse(e.time), e.app, e.host, e.details]),
    [
      [20_000, "p", "node", { to: "stream", from: "kv" }],
      [50_000, "p", "node", { to: "kv", from: "stream" }],
    ],
  );
  assert.equal(changes[0]?.message, "phase kv -> stream");
});
