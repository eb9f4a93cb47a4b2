/**
 * Attaching to an agent daemon without a relay: `spirit agent ensure` starts the daemon once,
 * the controller connects to its socket (as SSH does through the master connection) and falls
 * back to a `spirit agent` relay, for good on that connector, when the host refuses the socket.
 * Real processes on this machine: the CLI, the daemon, the relay.
 */
import assert from "node:assert/strict";
import { ForwardRefusedError } from "../controller/connectors/errors.ts";
import { LocalConnector } from "../controller/connectors/local.ts";
import type { AgentClient } from "../controller/run/agent_client.ts";
import { startAgent } from "../controller/run/processes.ts";
import { localRuntime } from "../controller/run/runtime.ts";
import { processExists, waitFor } from "./fixtures/agent_harness.ts";

/**
 * A local connector that also reaches Unix sockets, or refuses them as a host's sshd may (the
 * connection ends at once) or as an ssh master may (no forward).
 */
class SocketConnector extends LocalConnector {
  readonly socketsAsked: string[] = [];
  readonly #refuse: "no" | "connection" | "forward";

  constructor(options: { refuse: "no" | "connection" | "forward" }) {
    super("node");
    this.#refuse = options.refuse;
  }

  async connectUnixSocket(path: string): Promise<Deno.Conn> {
    this.socketsAsked.push(path);
    if (this.#refuse === "no") return await Deno.connect({ transport: "unix", path });
    if (this.#refuse === "forward") throw new ForwardRefusedError(`no forward to ${path}`);
    // What a refused forward looks like: a connection that ends before any byte.
    const dir = await Deno.makeTempDir({ prefix: "spirit-refuse-" });
    const listener = Deno.listen({ transport: "unix", path: `${dir}/refuse.sock` });
    const accepted = listener.accept().then((conn) => conn.close());
    const conn = await Deno.connect({ transport: "unix", path: `${dir}/refuse.sock` });
    await accepted;
    listener.close();
    await Deno.remove(dir, { recursive: true });
    return conn;
  }
}

async function shutDown(client: AgentClient, stateDir: string): Promise<void> {
  const pid = client.attached.daemonPid;
  await client.teardown({ shutdown: true });
  await client.close();
  await waitFor("the daemon to exit", async () => (await processExists(pid)) ? undefined : true, {
    timeoutMs: 10_000,
  });
  await Deno.remove(stateDir, { recursive: true });
}

Deno.test("the controller attaches to the daemon's socket and the daemon outlives the session", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "spirit-agent-direct-" });
  const connector = new SocketConnector({ refuse: "no" });
  const options = { runtime: localRuntime(), stateDir };
  const first = await startAgent(connector, options);
  try {
    assert.equal(first.via, "socket");
    assert.deepEqual(connector.socketsAsked, [`${stateDir}/agent.sock`]);
    assert.deepEqual((await first.samples()).samples, []);
    await first.close();
    assert.ok(await processExists(first.attached.daemonPid), "the daemon ended with the session");
    const second = await startAgent(connector, options);
    assert.equal(second.via, "socket");
    assert.equal(second.attached.daemonPid, first.attached.daemonPid, "`ensure` started another");
    await shutDown(second, stateDir);
  } finally {
    if (await processExists(first.attached.daemonPid)) {
      Deno.kill(first.attached.daemonPid, "SIGTERM");
    }
  }
});

for (const refuse of ["connection", "forward"] as const) {
  Deno.test(`a host that refuses the daemon's socket (${refuse}) gets a relay, and keeps it`, async () => {
    const stateDir = await Deno.makeTempDir({ prefix: "spirit-agent-direct-" });
    const connector = new SocketConnector({ refuse });
    const options = { runtime: localRuntime(), stateDir };
    const first = await startAgent(connector, options);
    try {
      assert.equal(first.via, "relay");
      assert.equal(connector.socketsAsked.length, 1);
      assert.deepEqual((await first.samples()).samples, []);
      await first.close();
      const second = await startAgent(connector, options);
      assert.equal(second.via, "relay");
      assert.equal(connector.socketsAsked.length, 1, "the refused socket was asked for again");
      assert.equal(second.attached.daemonPid, first.attached.daemonPid);
      await shutDown(second, stateDir);
    } finally {
      if (await processExists(first.attached.daemonPid)) {
        Deno.kill(first.attached.daemonPid, "SIGTERM");
      }
    }
  });
}

Deno.test("`spirit agent ensure` names what failed when no daemon may be started", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "spirit-agent-direct-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: localRuntime().command(["agent", "--state-dir", stateDir, "--no-autostart", "ensure"])
        .slice(1),
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 1);
    assert.equal(new TextDecoder().decode(out.stdout), "");
    assert.match(
      new TextDecoder().decode(out.stderr),
      new RegExp(`spirit agent ensure: No agent daemon is listening on ${stateDir}/agent.sock`),
    );
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
