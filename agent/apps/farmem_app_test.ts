import assert from "node:assert/strict";
import { MalformedReplyError } from "../../common/reply.ts";
import type { FarmemLaunchSpec } from "../protocol.ts";
import { FarmemApp } from "./farmem_app.ts";

/** A workload that prints `ready` and answers requests with `answer(request)` (a JS expression). */
function spec(ready: string, answer: string): FarmemLaunchSpec {
  const script = `
    console.log(${JSON.stringify(ready)});
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of Deno.stdin.readable) {
      buffered += decoder.decode(chunk);
      let at;
      while ((at = buffered.indexOf("\\n")) >= 0) {
        const request = JSON.parse(buffered.slice(0, at));
        buffered = buffered.slice(at + 1);
        console.log(JSON.stringify(${answer}));
        if (request.op === "stop") Deno.exit(0);
      }
    }`;
  return {
    appId: "fake",
    allocation: { cacheBytes: 1 << 20, bandwidthBytesPerSec: 1e6 },
    enforcement: "farmem",
    program: { kind: "argv", argv: [Deno.execPath(), "eval", script] },
  };
}

const context = { workloadCommand: [], stderrSink: () => {} };
const READY = JSON.stringify({ event: "ready", workload: "fake", pid: 1 });

Deno.test("FarmemApp refuses a workload's malformed sample reply, naming the field", async () => {
  const app = await FarmemApp.launch(
    spec(
      READY,
      'request.op === "sample" ? { id: request.id, ok: true, sample: { opsTotal: -1 } } : { id: request.id, ok: true }',
    ),
    context,
  );
  try {
    await assert.rejects(
      app.measure(),
      (error: unknown) =>
        error instanceof MalformedReplyError && error.field === "sample.elapsedMs" &&
        /reply to sample from workload fake/.test(error.message),
    );
  } finally {
    await app.stop();
  }
});

Deno.test("FarmemApp refuses a malformed ready line, naming the field", async () => {
  await assert.rejects(
    FarmemApp.launch(spec(JSON.stringify({ event: "ready", pid: "one" }), "{}"), context),
    (error: unknown) =>
      error instanceof MalformedReplyError && error.field === "workload" &&
      /ready line of workload fake/.test(error.message),
  );
});

Deno.test("FarmemApp reads a well-formed sample, unlimited bandwidth as null", async () => {
  const sample = {
    elapsedMs: 5,
    opsTotal: 10,
    accesses: 20,
    hits: 15,
    misses: 5,
    remoteReadBytes: 20480,
    remoteWriteBytes: 0,
    stallMs: 1,
    cacheBytes: 1 << 20,
    bandwidthBytesPerSec: null,
    residentBytes: 4096,
    mrc: [[1 << 20, 0.5]],
  };
  const app = await FarmemApp.launch(
    spec(
      READY,
      `request.op === "sample" ? { id: request.id, ok: true, sample: ${
        JSON.stringify(sample)
      } } : { id: request.id, ok: true }`,
    ),
    context,
  );
  try {
    const raw = await app.measure();
    assert.equal(raw.opsTotal, 10);
    assert.equal(raw.swapInBytes, 20480);
    assert.deepEqual(raw.mrc, { available: true, source: "farmem", points: [[2 ** 20, 0.5]] });
  } finally {
    await app.stop();
  }
});

Deno.test("a workload that dies with a request unread on its socket is an exit, not a crash", async () => {
  const controlDir = await Deno.makeTempDir({ prefix: "spirit-farmem-ctl-" });
  // Connects to the agent's socket, says ready, then exits without reading the `set-limits`
  // the agent sends at launch: the kernel resets the agent's end of the connection.
  const script = `
    const path = Deno.args.at(-1).slice("unix:".length);
    const conn = await Deno.connect({ transport: "unix", path });
    await conn.write(new TextEncoder().encode(${JSON.stringify(READY)} + "\\n"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    Deno.exit(3);`;
  try {
    await assert.rejects(
      FarmemApp.launch({
        appId: "fake",
        allocation: { cacheBytes: 1 << 20, bandwidthBytesPerSec: 1e6 },
        enforcement: "farmem",
        program: { kind: "workload", workload: "kv", args: [] },
      }, { ...context, workloadCommand: [Deno.execPath(), "eval", script], controlDir }),
      /Workload fake refused set-limits: workload exited \(code 3\)/,
    );
    assert.deepEqual([...Deno.readDirSync(controlDir)], [], "the socket's name is left");
  } finally {
    await Deno.remove(controlDir, { recursive: true });
  }
});
