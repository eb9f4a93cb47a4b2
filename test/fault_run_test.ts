/**
 * Faults with real processes on this machine, each injected into a running `runPlaybook` (or,
 * for the controller itself, the `spirit run` command line): spirit's answer is an event naming
 * the fault (`details.fault`), the run goes on and finishes with every epoch recorded, and
 * nothing of the run is left afterwards (processes, cgroups, swap devices, mounts, its
 * directory). Faults are injected once spirit has answered the one before, so each run covers
 * several; docs/run.md has the table.
 * @module
 */
import assert from "node:assert/strict";
import { detectCgroups } from "../agent/cgroup/mounts.ts";
import { SPIRIT_CGROUP_PARENT } from "../agent/cgroup/cgroup.ts";
import { validatePlaybook } from "../controller/playbook/validate.ts";
import { readEpochs } from "../controller/results/read.ts";
import type { RunEvent } from "../controller/results/types.ts";
import { runPlaybook } from "../controller/run/run.ts";
import { leftoversOf } from "./fixtures/leftovers.ts";
import { killOne, RunWatch } from "./fixtures/run_watch.ts";
import { CLI, spirit } from "./fixtures/spirit_cli.ts";
import { twoAppPlaybook, twoAppSpec } from "./fixtures/two_apps.ts";
import { writePlaybookFile } from "./fixtures/tiny_playbook.ts";
import { commandOnPath, ROOT, systemTest } from "./prereq.ts";

const PGREP = commandOnPath("pgrep");

/** Events naming `fault` in `details.fault`. */
const named = (events: readonly RunEvent[], fault: string) =>
  events.filter((e) => e.details?.fault === fault);

const is = (kind: RunEvent["kind"], pattern: RegExp, app?: string) => (e: RunEvent) =>
  e.kind === kind && pattern.test(e.message) && (app === undefined || e.app === app);

/** Kills a child process unless it has exited already, and waits for it. */
async function killIfRunning(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch (error) {
    if (!(error instanceof TypeError)) throw error; // it exited already
  }
  await child.status;
}

/** Asserts the run recorded consecutive epochs up to its end. */
async function assertEpochsComplete(runDir: string, durationMs: number): Promise<void> {
  const { records } = await readEpochs(runDir);
  assert.deepEqual(records.map((r) => r.epoch), records.map((_, i) => i), "consecutive epochs");
  assert.ok((records.at(-1)?.elapsedMs ?? 0) >= durationMs - 1000, "recorded up to the end");
}

systemTest(
  "a run rides out a killed app, agent session, agent daemon and memory server",
  [PGREP],
  async () => {
    const output = await Deno.makeTempDir({ prefix: "spirit-fault-test-" });
    const watch = new RunWatch(output);
    try {
      // It runs until each fault has been answered (on a loaded machine, recoveries take a
      // while), then is stopped as with Ctrl-C.
      const playbook = twoAppPlaybook(output, { name: "faults", duration: "forever" });
      const stop = new AbortController();
      const running = runPlaybook(playbook, { output: "quiet", signal: stop.signal })
        .finally(() => watch.ended = true);
      const { runId, hostDir } = await watch.info();
      const mine = `${hostDir}/`;

      await watch.epochs(2);
      await killOne("kv workload", `workload kv .*${mine}`);
      await watch.event("kv relaunched", is("restart", /relaunched \(attempt 1\)/, "kv"));

      await killOne("agent session", `agent --state-dir ${mine}agent-node --sample`);
      await watch.event("re-attached", is("restart", /agent re-attached \(session 2/));

      await killOne("agent daemon", `agent daemon --state-dir ${mine}agent-node`);
      await watch.event("new daemon", is("restart", /re-attached \(session 3.*relaunching/));
      for (const app of ["kv", "scan"]) {
        await watch.event(`${app} relaunched`, is("restart", /the agent daemon lost it/, app));
      }

      await killOne("memory server", `memserver --listen .*${mine}`);
      await watch.event("memory server back", is("restart", /memory server restarted/));
      const relaunched = await watch.event("an app back", is("restart", /restarted memory/));
      const runDir = await watch.dir();
      const epochsSoFar = (await readEpochs(runDir)).records.length;
      await watch.epochs(epochsSoFar + 2);
      stop.abort();

      const result = await running;
      assert.equal(result.interrupted, true);
      const events = await watch.events();
      assert.ok(named(events, "app-crashed").some((e) => e.app === "kv"), "kv's crash");
      assert.equal(named(events, "agent-lost").length, 2, "session, then daemon");
      assert.equal(named(events, "agent-daemon-lost").length, 1);
      assert.equal(named(events, "memserver-exited").length, 1);
      assert.equal(events.filter(is("restart", /relaunched on the restarted memory/)).length, 2);
      assert.deepEqual(named(events, "relaunch-failed"), []);
      const { records } = await readEpochs(runDir);
      assert.deepEqual(records.map((r) => r.epoch), records.map((_, i) => i), "every epoch");
      assert.ok(Date.parse(records.at(-1)?.time ?? "") > Date.parse(relaunched.time));
      assert.deepEqual(await leftoversOf({ runId, hostDir }), []);
    } finally {
      await Deno.remove(output, { recursive: true });
    }
  },
);

/** The memory cgroup directory of app `name` (its `spirit/<name>` in the memory hierarchy). */
async function memoryCgroupOf(name: string): Promise<{ dir: string; root: string }> {
  const layout = await detectCgroups();
  if (layout.memory === null) throw new Error("No memory cgroup hierarchy on this machine");
  const root = layout.memory.mountPoint;
  return { dir: `${root}/${SPIRIT_CGROUP_PARENT}/${name}`, root };
}

/** The pids in an app's memory cgroup. */
async function pidsInCgroup(name: string): Promise<number[]> {
  const { dir } = await memoryCgroupOf(name);
  return (await Deno.readTextFile(`${dir}/cgroup.procs`)).split("\n").filter((l) => l !== "")
    .map(Number);
}

/**
 * Removes app `name`'s memory cgroup from under it, as an operator's script might: its
 * processes move to the root cgroup, then the directory goes. Every later limit the agent
 * writes there fails (ENOENT).
 */
async function removeMemoryCgroup(name: string): Promise<void> {
  const { dir, root } = await memoryCgroupOf(name);
  for (const pid of await pidsInCgroup(name)) {
    await Deno.writeTextFile(`${root}/cgroup.procs`, `${pid}\n`);
  }
  await Deno.remove(dir);
}

systemTest(
  "a run records an app that exits, a relaunch that fails and an enforcement the kernel refuses",
  [ROOT, PGREP],
  async () => {
    const output = await Deno.makeTempDir({ prefix: "spirit-fault-test-" });
    const suffix = crypto.randomUUID().slice(0, 6);
    // cgroups are named after apps: names unique to this test run.
    const [quit, flaky, stuck] = ["quit", "flaky", "stuck"].map((n) => `${n}-${suffix}`) as [
      string,
      string,
      string,
    ];
    const script = `${output}/flaky.sh`;
    await Deno.writeTextFile(script, "#!/bin/sh\nexec sleep 600\n", { mode: 0o755 });
    const watch = new RunWatch(output);
    try {
      const durationMs = 14_000;
      const spec = twoAppSpec(output, { name: "cgfaults", duration: `${durationMs}ms` });
      const playbook = validatePlaybook({
        ...spec,
        hosts: {
          ...spec.hosts,
          node: { role: "compute", memoryNode: "mem", cache: "96MiB", bandwidth: "80Mbps" },
        },
        // A cgroup limit of 0 bytes gets a program OOM-killed: each keeps some cache.
        apps: [
          { name: quit, command: { argv: ["sh", "-c", "sleep 2"] } },
          { name: flaky, command: { argv: [script] } },
          { name: stuck, command: { argv: ["sleep", "600"] } },
        ].map((app) => ({ ...app, host: "node", limits: { minCache: "8MiB" } })),
        warmup: "4s",
      });
      const running = runPlaybook(playbook, { output: "quiet" }).finally(() => watch.ended = true);
      const { runId, hostDir } = await watch.info();
      await watch.event("the quitter's exit", (e) => e.app === quit && e.kind === "stop");

      await removeMemoryCgroup(stuck);
      await watch.event(
        "a refused enforcement",
        (e) => e.app === stuck && e.details?.fault === "enforcement-failed",
      );

      // Its program is gone (a botched upgrade), then it crashes: every relaunch fails.
      await Deno.remove(script);
      for (const pid of await pidsInCgroup(flaky)) Deno.kill(pid, "SIGKILL");
      await watch.event(
        "giving up on it",
        (e) => e.app === flaky && e.details?.fault === "app-given-up",
      );

      const result = await running;
      assert.equal(result.interrupted, false);
      const runDir = await watch.dir();
      const events = await watch.events();
      assert.equal(named(events, "app-exited").filter((e) => e.app === quit).length, 1);
      assert.equal(named(events, "app-crashed").filter((e) => e.app === flaky).length, 1);
      const failed = named(events, "relaunch-failed").filter((e) => e.app === flaky);
      assert.equal(failed.length, 3);
      assert.match(failed[0]?.message ?? "", /Program .*flaky\.sh does not exist/);
      const refused = named(events, "enforcement-failed").filter((e) => e.app === stuck);
      assert.ok(refused.length >= 1);
      assert.match(refused[0]?.message ?? "", /cgroup .*stuck-.* is gone/);
      await assertEpochsComplete(runDir, durationMs);
      const last = (await readEpochs(runDir)).records.at(-1);
      const app = (name: string) => last?.apps.find((a) => a.name === name);
      assert.match(app(quit)?.down ?? "", /exited by itself/);
      assert.match(app(flaky)?.down ?? "", /relaunched 3 times in a row/);
      // Neither holds anything any more: the stuck app had the node to itself.
      assert.deepEqual([app(quit)?.cacheMiB, app(flaky)?.cacheMiB], [0, 0]);
      assert.ok(last !== undefined && (last.nodes[0]?.allocated?.cacheMiB ?? 0) <= 96);
      assert.deepEqual(await leftoversOf({ runId, hostDir }, { apps: [quit, flaky, stuck] }), []);
    } finally {
      await Deno.remove(output, { recursive: true });
    }
  },
);

systemTest(
  "spirit down cleans up after a controller killed with SIGKILL, and the results survive",
  [ROOT, PGREP],
  async () => {
    const output = await Deno.makeTempDir({ prefix: "spirit-fault-test-" });
    const command = `sleeper-${crypto.randomUUID().slice(0, 6)}`;
    const watch = new RunWatch(output);
    const spec = twoAppSpec(output, { name: "killed", duration: "60s" });
    const file = await writePlaybookFile(output, {
      ...spec,
      apps: [
        spec.apps[0],
        { name: command, host: "node", command: { argv: ["sleep", "600"] } },
      ],
    });
    const controller = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", CLI, "run", file, "--quiet"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const { runId, hostDir } = await watch.info();
      await watch.epochs(2);
      controller.kill("SIGKILL");
      await controller.status;
      // What it leaves: the memory server, the agent daemon and the apps, the run directory.
      const left = await leftoversOf({ runId, hostDir }, { apps: [command] });
      assert.ok(left.some((l) => /^process .*memserver/.test(l)), left.join("\n"));
      assert.ok(left.some((l) => /^process .*agent daemon/.test(l)), left.join("\n"));
      assert.ok(left.some((l) => l.startsWith(`cgroup `)), left.join("\n"));

      const runDir = await watch.dir();
      const down = await spirit("down", runDir);
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, new RegExp(`stopped app ${runId}: ${command}`));
      assert.match(down.stdout, new RegExp(`removed directory ${hostDir}`));
      assert.deepEqual(await leftoversOf({ runId, hostDir }, { apps: [command] }), []);
      const again = await spirit("down", runDir);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /nothing to clean up/);

      // Every epoch written before the kill is intact, and the report is rebuilt from them.
      const { records } = await readEpochs(runDir);
      assert.ok(records.length >= 2);
      assert.deepEqual(records.map((r) => r.epoch), records.map((_, i) => i));
      const report = await spirit("report", runDir);
      assert.equal(report.code, 0, report.stderr);
      assert.ok((await Deno.stat(`${runDir}/summary.json`)).isFile);
    } finally {
      await killIfRunning(controller);
      await Deno.remove(output, { recursive: true });
    }
  },
);

systemTest(
  "a run that cannot start says which step failed where, and leaves nothing behind",
  [PGREP],
  async () => {
    const output = await Deno.makeTempDir({ prefix: "spirit-fault-test-" });
    const watch = new RunWatch(output);
    try {
      const spec = twoAppSpec(output, { name: "nostart" });
      const missing = `${output}/not-installed`;
      const file = await writePlaybookFile(output, {
        ...spec,
        apps: [spec.apps[0], { name: "broken", host: "node", command: { argv: [missing] } }],
      });
      const run = await spirit("run", file, "--quiet");
      watch.ended = true;
      assert.equal(run.code, 1, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(`node: launching app broken failed: .*Program ${missing} does not exist`),
      );
      assert.match(run.stderr, /everything it had started was stopped/);
      const { runId, hostDir } = await watch.info();
      const events = await watch.events();
      assert.equal(named(events, "start-failed").length, 1);
      // The memory server, the agent and the app that had started were stopped again.
      assert.ok(events.some(is("start", /launched/, "kv")));
      assert.ok(events.some(is("stop", /agent torn down \(apps stopped: kv/)));
      assert.deepEqual(await leftoversOf({ runId, hostDir }, { apps: ["broken"] }), []);
    } finally {
      await Deno.remove(output, { recursive: true });
    }
  },
);
