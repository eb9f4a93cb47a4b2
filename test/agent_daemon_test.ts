/**
 * The agent daemon in-process: its Unix socket is private, it greets each connection, answers
 * bad lines with bad-request, streams samples to sessions that ask, and shuts down on request.
 */
import assert from "node:assert/strict";
import { startDaemon } from "../agent/daemon.ts";
import { readLines } from "../common/lines.ts";
import type { AgentMessage } from "../agent/protocol.ts";

const FAKE = new URL("./fixtures/fake_farmem_workload.ts", import.meta.url).pathname;

Deno.test("agent daemon serves the protocol on a private socket and shuts down on request", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "spirit-agent-daemon-" });
  const daemon = await startDaemon({ stateDir, sampleIntervalMs: 200 });
  try {
    assert.equal(((await Deno.stat(stateDir)).mode ?? 0) & 0o777, 0o700);
    assert.equal(((await Deno.stat(daemon.socketPath)).mode ?? 0) & 0o777, 0o600);
    const conn = await Deno.connect({ transport: "unix", path: daemon.socketPath });
    const lines = readLines(conn.readable);
    const next = async (): Promise<AgentMessage> => {
      const line = await lines.next();
      if (line.done) throw new Error("The daemon closed the connection");
      return JSON.parse(line.value) as AgentMessage;
    };
    const send = (message: unknown) =>
      conn.write(new TextEncoder().encode(JSON.stringify(message) + "\n"));
    const until = async (match: (m: AgentMessage) => boolean) => {
      for (;;) {
        const message = await next();
        if (match(message)) return message;
      }
    };
    assert.equal(((await next()) as { event: string }).event, "attached");
    await send({ id: 1, op: "hello", protocolVersion: 1, sampleEvents: true });
    assert.deepEqual(
      await until((m) => "id" in m && m.id === 1).then((m) => "ok" in m && m.ok),
      true,
    );
    await conn.write(new TextEncoder().encode('{"id":2,"op":"launch"}\n'));
    const bad = await until((m) => "id" in m && m.id === 2);
    assert.ok("ok" in bad && !bad.ok && bad.error.code === "bad-request");
    await send({
      id: 3,
      op: "launch",
      app: {
        appId: "fake",
        enforcement: "farmem",
        program: { kind: "argv", argv: [Deno.execPath(), "run", "-A", FAKE] },
        allocation: { cacheBytes: 2 ** 24, bandwidthBytesPerSec: 1e6 },
      },
    });
    const sample = await until((m) => "event" in m && m.event === "sample");
    assert.ok("sample" in sample && sample.sample.appId === "fake");
    await send({ id: 4, op: "teardown", shutdown: true });
    const done = await until((m) => "id" in m && m.id === 4);
    assert.ok("ok" in done && done.ok);
    // The daemon closes the connection; reading to its end releases the socket on our side too.
    for await (const _line of lines) { /* drain */ }
    await daemon.done;
    await assert.rejects(Deno.stat(daemon.socketPath), Deno.errors.NotFound);
  } finally {
    await daemon.shutdown();
    await Deno.remove(stateDir, { recursive: true });
  }
});
