/**
 * `spirit agent` sessions: a session starts the daemon, a dropped session leaves the apps
 * running, a new session re-attaches, and teardown with shutdown stops everything.
 */
import assert from "node:assert/strict";
import { readLines } from "../common/lines.ts";
import type { AgentMessage, AppStatus, AttachedEvent } from "../agent/protocol.ts";
import { AGENT_PROTOCOL_VERSION } from "../agent/protocol.ts";
import { processExists, waitFor } from "./fixtures/agent_harness.ts";
import { commandOnPath, pathExists, ROOT, systemTest } from "./prereq.ts";

const CLI = new URL("../controller/cli.ts", import.meta.url).pathname;

/** One `spirit agent` session process with line-wise access to its stdio. */
class Session {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncGenerator<string>;
  #nextId = 1;

  constructor(stateDir: string) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "agent", "--state-dir", stateDir],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = readLines(this.#child.stdout);
  }

  async next(): Promise<AgentMessage> {
    const line = await this.#lines.next();
    if (line.done) throw new Error("Session closed its stdout");
    return JSON.parse(line.value) as AgentMessage;
  }

  /** Sends a request and returns the result of its response (skipping events). */
  async call(body: Record<string, unknown>): Promise<unknown> {
    const id = this.#nextId++;
    await this.#writer.write(new TextEncoder().encode(JSON.stringify({ id, ...body }) + "\n"));
    for (;;) {
      const message = await this.next();
      if (!("id" in message) || message.id !== id) continue;
      if (!message.ok) throw new Error(`${String(body.op)}: ${message.error.message}`);
      return message.result;
    }
  }

  /** Closes stdin (the controller going away) and waits for the session to end. */
  async close(): Promise<Deno.CommandStatus> {
    await this.#writer.close().catch((error) => {
      if (!(error instanceof TypeError)) throw error;
    });
    for await (const _line of this.#lines) { /* drain until the daemon closes the connection */ }
    return await this.#child.status;
  }
}

systemTest("agent session re-attaches to the daemon without stopping apps", [
  ROOT,
  commandOnPath("setpriv"),
  pathExists("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
], async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "spirit-agent-session-" });
  let daemonPid: number | null = null;
  let appPid: number | null = null;
  try {
    const first = new Session(stateDir);
    const attached = (await first.next()) as AttachedEvent;
    assert.equal(attached.event, "attached");
    daemonPid = attached.daemonPid;
    assert.deepEqual(attached.apps, []);
    await first.call({ op: "hello", protocolVersion: AGENT_PROTOCOL_VERSION });
    const launched = (await first.call({
      op: "launch",
      app: {
        appId: "sleeper",
        enforcement: "cgroup",
        argv: ["sleep", "300"],
        allocation: { cacheBytes: 64 * 2 ** 20, bandwidthBytesPerSec: 10e6 },
      },
    })) as AppStatus;
    appPid = launched.pid;
    assert.ok(appPid !== null);
    assert.equal((await first.close()).code, 0);
    assert.ok(await processExists(appPid), "the app died with the session");

    const second = new Session(stateDir);
    const reattached = (await second.next()) as AttachedEvent;
    assert.equal(reattached.daemonPid, daemonPid);
    assert.deepEqual(reattached.apps.map((a) => [a.appId, a.state, a.pid]), [[
      "sleeper",
      "running",
      appPid,
    ]]);
    const result = (await second.call({ op: "teardown", shutdown: true })) as { stopped: string[] };
    assert.deepEqual(result.stopped, ["sleeper"]);
    assert.equal((await second.close()).code, 0);
    const pids = [daemonPid, appPid];
    await waitFor("daemon and app to exit", async () => {
      for (const pid of pids) if (await processExists(pid)) return undefined;
      return true;
    }, { timeoutMs: 10_000 });
    assert.equal(pathExists(`${stateDir}/agent.sock`).available(), false);
    for (const dir of Object.values(launched.cgroups)) {
      assert.equal(pathExists(dir).available(), false);
    }
  } finally {
    // A failed test must not leave the daemon or the app behind.
    for (const pid of [appPid, daemonPid]) {
      if (pid !== null && await processExists(pid)) Deno.kill(pid, "SIGTERM");
    }
    if (daemonPid !== null) {
      const pid = daemonPid;
      await waitFor("daemon exit", async () => (await processExists(pid)) ? undefined : true, {
        timeoutMs: 10_000,
      });
    }
    await Deno.remove(stateDir, { recursive: true });
  }
});

systemTest("apps die with a killed daemon and the next daemon removes their cgroups", [
  ROOT,
  commandOnPath("setpriv"),
  pathExists("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
], async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "spirit-agent-session-" });
  const pids: number[] = [];
  try {
    const first = new Session(stateDir);
    const attached = (await first.next()) as AttachedEvent;
    pids.push(attached.daemonPid);
    const launched = (await first.call({
      op: "launch",
      app: {
        appId: "orphan",
        enforcement: "cgroup",
        argv: ["sleep", "300"],
        allocation: { cacheBytes: 64 * 2 ** 20, bandwidthBytesPerSec: 10e6 },
      },
    })) as AppStatus;
    assert.ok(launched.pid !== null);
    pids.push(launched.pid);
    Deno.kill(attached.daemonPid, "SIGKILL");
    assert.equal((await first.close()).code, 0);
    await waitFor("the app to die with its daemon", async () => {
      for (const pid of pids) if (await processExists(pid)) return undefined;
      return true;
    }, { timeoutMs: 10_000 });
    const dirs = Object.values(launched.cgroups);
    for (const dir of dirs) {
      assert.ok(pathExists(dir).available(), `${dir} should outlive a killed daemon`);
    }

    const second = new Session(stateDir);
    const reattached = (await second.next()) as AttachedEvent;
    pids.push(reattached.daemonPid);
    assert.notEqual(reattached.daemonPid, attached.daemonPid);
    assert.deepEqual(reattached.apps, []);
    for (const dir of dirs) {
      assert.equal(pathExists(dir).available(), false, `${dir} was not reaped`);
    }
    await second.call({ op: "teardown", shutdown: true });
    assert.equal((await second.close()).code, 0);
    const daemon = reattached.daemonPid;
    await waitFor(
      "the second daemon to exit",
      async () => (await processExists(daemon)) ? undefined : true,
      {
        timeoutMs: 10_000,
      },
    );
  } finally {
    for (const pid of pids) if (await processExists(pid)) Deno.kill(pid, "SIGKILL");
    await Deno.remove(stateDir, { recursive: true });
  }
});
