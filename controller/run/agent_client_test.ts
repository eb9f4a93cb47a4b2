import assert from "node:assert/strict";
import type { AgentEvent } from "../../agent/protocol.ts";
import { MalformedReplyError } from "../../common/reply.ts";
import { AgentClient, AgentRequestError, AgentTimeoutError } from "./agent_client.ts";
import { ATTACHED, fakeAgent, hello } from "./_fake_agent.ts";

Deno.test("AgentClient refuses a malformed attached line, naming the field", async () => {
  const process = fakeAgent(() => [], JSON.stringify({ ...ATTACHED, apps: "none" }));
  await assert.rejects(
    AgentClient.attach("cn1", process),
    (error: unknown) =>
      error instanceof MalformedReplyError && error.field === "apps" &&
      /"attached" line from the agent on cn1: apps:/.test(error.message),
  );
  await process.stdin.close();
});

Deno.test("AgentClient rejects a malformed result, naming the field, never casting it", async () => {
  const process = fakeAgent((request) => {
    if (request.op === "hello") return [hello(request.id)];
    return [
      JSON.stringify({ id: request.id, ok: true, result: { samples: [{ seq: "x" }], lastSeq: 1 } }),
    ];
  });
  const agent = await AgentClient.attach("cn1", process);
  await assert.rejects(
    agent.samples(),
    (error: unknown) =>
      error instanceof MalformedReplyError && error.field === "samples[0].seq" &&
      /reply to samples from the agent on cn1/.test(error.message),
  );
  await agent.close();
});

Deno.test("AgentClient still reports an agent's error answer as an AgentRequestError", async () => {
  const process = fakeAgent((request) =>
    request.op === "hello" ? [hello(request.id)] : [
      JSON.stringify({
        id: request.id,
        ok: false,
        error: { code: "unknown-app", message: 'No app with id "x"' },
      }),
    ]
  );
  const agent = await AgentClient.attach("cn1", process);
  await assert.rejects(
    agent.setAllocation("x", { cacheBytes: 1, bandwidthBytesPerSec: 1 }),
    (error: unknown) => error instanceof AgentRequestError && error.code === "unknown-app",
  );
  await agent.close();
});

Deno.test("AgentClient turns a malformed event into a warning event", async () => {
  // The second request (after attach's hello) is answered with a malformed event first.
  const process = fakeAgent((request) =>
    request.id === 1
      ? [hello(request.id)]
      : [JSON.stringify({ event: "app-exited", appId: "kv" }), hello(request.id)]
  );
  const events: AgentEvent[] = [];
  const agent = await AgentClient.attach("cn1", process);
  agent.onEvent((event) => events.push(event));
  await agent.request({ op: "hello", protocolVersion: 1 });
  await agent.close();
  assert.equal(events.length, 1);
  const [warning] = events;
  assert.equal(warning?.event, "warning");
  assert.match(
    warning?.event === "warning" ? warning.message : "",
    /Malformed event from the agent on cn1: exit:/,
  );
});

Deno.test("whileAnswering lets a long request finish while the agent answers pings", async () => {
  let pending = -1;
  let pings = 0;
  const process = fakeAgent((request) => {
    if (request.op === "hello") return [hello(request.id)];
    if (request.op === "list") {
      pings++;
      return [JSON.stringify({ id: request.id, ok: true, result: { apps: [] } })];
    }
    pending = request.id; // set-allocations: answered later, as a shrink waiting on write-back
    return [];
  });
  const agent = await AgentClient.attach("cn1", process);
  setTimeout(
    () => process.push(JSON.stringify({ id: pending, ok: true, result: { outcomes: [] } })),
    300,
  );
  const result = await agent.whileAnswering(agent.setAllocations({ shrinks: [], grows: [] }), 50);
  assert.deepEqual(result, { outcomes: [] });
  assert.ok(pings >= 3, `${pings} pings in 300 ms at one per 50 ms`);
  await agent.close();
});

Deno.test("whileAnswering fails a request as soon as the agent stops answering", async () => {
  const process = fakeAgent((request) => request.op === "hello" ? [hello(request.id)] : []);
  const agent = await AgentClient.attach("cn1", process);
  const started = performance.now();
  await assert.rejects(
    agent.whileAnswering(agent.setAllocations({ shrinks: [], grows: [] }), 50),
    (error: unknown) =>
      error instanceof AgentTimeoutError && error.op === "list" && error.host === "cn1",
  );
  const tookMs = performance.now() - started;
  assert.ok(
    tookMs >= 100 && tookMs < 5000,
    `failed after ${tookMs} ms, not the request's own 30 s`,
  );
  await agent.close();
});

Deno.test("AgentClient ends a session whose output breaks, failing what is pending with the reason", async () => {
  // Requests after hello are never answered; the output then breaks.
  const process = fakeAgent((request) => request.op === "hello" ? [hello(request.id)] : []);
  const agent = await AgentClient.attach("cn1", process);
  const pending = agent.samples();
  process.fail(new Deno.errors.ConnectionReset("Connection reset by peer"));
  // No uncaught error: the test runner would fail this test on one.
  await assert.rejects(pending, /Agent session on cn1 ended: Connection reset by peer/);
  await agent.close();
});
