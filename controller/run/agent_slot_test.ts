import assert from "node:assert/strict";
import type { Connector } from "../connectors/types.ts";
import { appSample } from "../../test/fixtures/app_sample.ts";
import { AgentSlot } from "./agent_slot.ts";
import { fakeAgent, hello } from "./_fake_agent.ts";

/** A slot whose agent answers `samples` with seqs 1..`lastSeq` and counts those requests. */
function slotWithAgent(lastSeq: number) {
  const asked: Array<number | undefined> = [];
  const process = fakeAgent((request) => {
    if (request.op === "hello") {
      assert.equal((request as { sampleEvents?: boolean }).sampleEvents, true);
      return [hello(request.id)];
    }
    const since = (request as { sinceSeq?: number }).sinceSeq;
    asked.push(since);
    const samples = Array.from({ length: lastSeq }, (_, i) => appSample({ seq: i + 1 }))
      .filter((s) => s.seq > (since ?? 0));
    return [JSON.stringify({ id: request.id, ok: true, result: { samples, lastSeq } })];
  });
  const connector = {
    host: "cn1",
    spawn: () => Promise.resolve(process),
  } as unknown as Connector;
  let nowMs = 1000;
  const slot = new AgentSlot("cn1", {
    connector,
    runtime: { command: (args) => ["spirit", ...args] },
    stateDir: "/tmp/none",
    onEvent: () => {},
    wallTime: () => nowMs,
  });
  const push = (seq: number) =>
    process.push(JSON.stringify({ event: "sample", sample: appSample({ seq }) }));
  return { slot, asked, push, advance: (ms: number) => nowMs += ms };
}

/** Resolves once the lines pushed so far have been read by the client. */
const delivered = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("AgentSlot collects pushed samples without a request once its cursor is set", async () => {
  const { slot, asked, push, advance } = slotWithAgent(2);
  await slot.attach();
  assert.deepEqual((await slot.samples()).map((s) => s.seq), [1, 2], "the first collection asks");
  push(3);
  push(4);
  await delivered();
  advance(300);
  assert.deepEqual((await slot.samples()).map((s) => s.seq), [3, 4]);
  assert.deepEqual(asked, [undefined], "no second request");
  assert.equal(slot.newestSampleAgeMs, 300);
  await slot.close();
});

Deno.test("AgentSlot asks the agent when nothing was pushed or the pushes left a gap", async () => {
  const { slot, asked, push } = slotWithAgent(6);
  await slot.attach();
  await slot.samples(); // seqs 1..6
  assert.deepEqual(await slot.samples(), [], "nothing pushed: asked, nothing new");
  push(8); // 7 was lost
  await delivered();
  assert.deepEqual(await slot.samples(), []);
  assert.deepEqual(asked, [undefined, 6, 6]);
  assert.equal(slot.newestSampleAgeMs, 0);
  await slot.close();
});
