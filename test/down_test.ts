/**
 * `spirit down` acts only on the runs it names, checks each run's record, reports what it
 * removed and is idempotent. Runs are staged as a crashed controller leaves them on this machine:
 * a run directory (run.json, playbook.json) and, on the "host", the run's host directory and a
 * process whose command line names it.
 * @module
 */
import assert from "node:assert/strict";
import { spirit } from "./fixtures/spirit_cli.ts";
import type { SshTarget } from "../controller/playbook/types.ts";
import { hostDirFor, type RunInfo } from "../controller/run/run_info.ts";
import { createNetnsHosts } from "./fixtures/netns_hosts.ts";
import { commandOnPath, ROOT as ROOT_USER, systemTest } from "./prereq.ts";

const ROOT = new URL("..", import.meta.url).pathname;

interface StagedRun {
  runId: string;
  runDir: string;
  hostDir: string;
  process: Deno.ChildProcess;
}

/** Stages a run of playbook `name` under `output`, with one live process naming its directory. */
async function stageRun(
  output: string,
  name: string,
  options: { info?: Partial<RunInfo>; ssh?: SshTarget } = {},
) {
  const runId = `${name}-20260101-000000-${crypto.randomUUID().slice(0, 6)}`;
  const hostDir = hostDirFor(runId);
  const runDir = `${output}/${runId}`;
  await Deno.mkdir(hostDir, { mode: 0o700 });
  await Deno.mkdir(runDir, { recursive: true });
  const record: RunInfo = { runId, playbook: name, hostDir, startedAt: "2026-01-01T00:00:00Z" };
  await Deno.writeTextFile(`${runDir}/run.json`, JSON.stringify({ ...record, ...options.info }));
  await Deno.writeTextFile(
    `${runDir}/playbook.json`,
    JSON.stringify({
      name,
      hosts: {
        node: { name: "node", role: "compute", ssh: options.ssh ?? null, memoryNode: "mem" },
      },
    }),
  );
  // A process whose argv names the run directory, as memory servers and workloads do.
  const process = new Deno.Command(Deno.execPath(), {
    args: ["eval", "setInterval(() => {}, 1000)", `${hostDir}/memserver.token`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  return { runId, runDir, hostDir, process } satisfies StagedRun;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Stops what a test staged (whatever spirit down left) and removes its files. */
async function cleanup(output: string, runs: StagedRun[]): Promise<void> {
  for (const run of runs) {
    try {
      run.process.kill("SIGKILL");
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // already exited
    }
    await run.process.status;
    await Deno.remove(run.hostDir, { recursive: true }).catch(() => undefined);
  }
  await Deno.remove(output, { recursive: true });
}

Deno.test("spirit down PLAYBOOK acts only on runs whose record names exactly that playbook", async () => {
  const output = await Deno.makeTempDir({ prefix: "spirit-down-test-" });
  const name = `dn${crypto.randomUUID().slice(0, 6)}`;
  const mine = await stageRun(output, name);
  const other = await stageRun(output, `${name}-other`);
  try {
    const playbook = `${output}/playbook.ts`;
    await Deno.writeTextFile(
      playbook,
      `import { definePlaybook } from "${ROOT}mod.ts";\n` +
        `export default definePlaybook(${
          JSON.stringify({
            name,
            hosts: {
              mem: { role: "memory", memserver: { capacity: "64MiB", port: 0 } },
              node: { role: "compute", memoryNode: "mem", cache: "8MiB", bandwidth: "80Mbps" },
            },
            apps: [{ name: "kv", host: "node", workload: { kind: "kv", dataset: "8MiB" } }],
            output,
          })
        });\n`,
    );
    const first = await spirit("down", playbook);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`stopped process ${mine.process.pid} `));
    assert.match(first.stdout, new RegExp(`removed directory ${mine.hostDir}`));
    assert.equal((await mine.process.status).signal, "SIGTERM");
    assert.equal(await exists(mine.hostDir), false);
    // The run of "<name>-other" is untouched.
    assert.doesNotMatch(first.stdout, new RegExp(other.runId));
    assert.equal(await exists(other.hostDir), true);
    assert.ok(Deno.readDirSync("/proc").some((e) => e.name === String(other.process.pid)));
    // Idempotent: nothing left to do the second time.
    const second = await spirit("down", playbook);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /nothing to clean up/);
    assert.doesNotMatch(second.stdout, /stopped|removed/);
  } finally {
    await cleanup(output, [mine, other]);
  }
});

Deno.test("spirit down NAME finds runs by exact run id under --results", async () => {
  const output = await Deno.makeTempDir({ prefix: "spirit-down-test-" });
  const name = `dn${crypto.randomUUID().slice(0, 6)}`;
  const first = await stageRun(output, name);
  const second = await stageRun(output, name);
  try {
    const result = await spirit("down", "--results", output, first.runId);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`removed directory ${first.hostDir}`));
    assert.equal(await exists(first.hostDir), false);
    assert.equal(await exists(second.hostDir), true);
    const missing = await spirit("down", "--results", output, `${name}-nope`);
    assert.equal(missing.code, 0);
    assert.match(missing.stdout, /nothing to clean up/);
  } finally {
    await cleanup(output, [first, second]);
  }
});

Deno.test("spirit down RUN_DIR refuses a record whose host directory is not the run's", async () => {
  const output = await Deno.makeTempDir({ prefix: "spirit-down-test-" });
  const victim = await Deno.makeTempDir({ prefix: "spirit-down-victim-" });
  const run = await stageRun(output, `dn${crypto.randomUUID().slice(0, 6)}`, {
    info: { hostDir: victim },
  });
  try {
    const result = await spirit("down", run.runDir);
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`${run.runDir}/run.json: hostDir "${victim}"`));
    assert.match(result.stderr, /refusing to act on a tampered record/);
    assert.equal(await exists(victim), true);
    assert.equal(await exists(run.hostDir), true);
  } finally {
    await Deno.remove(victim, { recursive: true });
    await cleanup(output, [run]);
  }
});

Deno.test("spirit down RUN_DIR cleans that run and reports it, then nothing", async () => {
  const output = await Deno.makeTempDir({ prefix: "spirit-down-test-" });
  const run = await stageRun(output, `dn${crypto.randomUUID().slice(0, 6)}`);
  try {
    const first = await spirit("down", run.runDir);
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stdout,
      new RegExp(`node: stopped process ${run.process.pid} .*${run.hostDir}/`),
    );
    assert.match(first.stdout, new RegExp(`node: removed directory ${run.hostDir}`));
    const again = await spirit("down", run.runDir);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /node: nothing to clean up/);
  } finally {
    await cleanup(output, [run]);
  }
});

systemTest(
  "spirit down cleans a run on a host reached over SSH",
  [ROOT_USER, commandOnPath("sshd"), commandOnPath("ip")],
  async () => {
    const net = await createNetnsHosts(1);
    const output = await Deno.makeTempDir({ prefix: "spirit-down-test-" });
    const [host] = net.hosts;
    assert.ok(host);
    // The namespaces share this machine's files and pid space: the staged process is there too.
    const run = await stageRun(output, `dn${crypto.randomUUID().slice(0, 6)}`, { ssh: host.ssh });
    try {
      const result = await spirit("down", run.runDir);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`node: stopped process ${run.process.pid} `));
      assert.match(result.stdout, new RegExp(`node: removed directory ${run.hostDir}`));
      assert.equal(await exists(run.hostDir), false);
    } finally {
      await cleanup(output, [run]);
      await net.close();
    }
  },
);
