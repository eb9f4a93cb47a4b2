import assert from "node:assert/strict";
import { syntheticEpochs, syntheticPlaybook } from "./_synthetic.ts";
import { RUN_FILES } from "./read.ts";
import type { EpochRecord, RunEvent } from "./types.ts";
import { RunWriter } from "./writer.ts";

const playbook = (output: string) => syntheticPlaybook(output, "w");

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spirit_results_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("RunWriter creates a fresh run directory with the resolved playbook", async () => {
  await withDir(async (out) => {
    const now = new Date("2026-01-01T10:20:30Z");
    await using a = await RunWriter.create(playbook(out), { now });
    await using b = await RunWriter.create(playbook(out), { now });
    assert.equal(a.dir, `${out}/w-symbiosis-2026-01-01-102030`);
    assert.equal(b.dir, `${a.dir}-2`);
    const saved = JSON.parse(await Deno.readTextFile(`${a.dir}/${RUN_FILES.playbook}`));
    assert.equal(saved.hosts.cn1.cacheBytes, 512 * 2 ** 20);
  });
});

Deno.test("RunWriter writes each epoch line through before close", async () => {
  await withDir(async (out) => {
    await using writer = await RunWriter.create(playbook(out));
    const [first] = syntheticEpochs(1);
    assert.ok(first);
    await writer.writeEpoch(first);
    const text = await Deno.readTextFile(`${writer.dir}/${RUN_FILES.epochs}`);
    assert.deepEqual(JSON.parse(text), first);
    const csv = (await Deno.readTextFile(`${writer.dir}/${RUN_FILES.apps}`)).trim().split("\n");
    assert.equal(csv.length, 3);
    assert.match(csv[0] ?? "", /^epoch,time,phase,app,host,cacheMiB/);
    assert.match(csv[1] ?? "", /^0,2026-01-01T00:00:05\.000Z,measure,kv,cn1,256,500,10000,10500,/);
  });
});

Deno.test("RunWriter.finish writes the events, summary and report", async () => {
  await withDir(async (out) => {
    const writer = await RunWriter.create(playbook(out));
    for (const record of syntheticEpochs(5)) await writer.writeEpoch(record);
    await writer.event({
      time: "2026-01-01T00:00:07Z",
      kind: "fault",
      host: "cn1",
      message: "agent died",
    });
    const result = await writer.finish();
    assert.equal(result.summary.measuredEpochs, 5);
    const events = await Deno.readTextFile(`${writer.dir}/${RUN_FILES.events}`);
    assert.equal(JSON.parse(events).message, "agent died");
    const html = await Deno.readTextFile(result.reportPath);
    assert.match(html, /agent died/);
    assert.equal(JSON.parse(await Deno.readTextFile(result.summaryPath)).playbook, "w");
  });
});

Deno.test("RunWriter hands every epoch and event to its sinks once written", async () => {
  await withDir(async (out) => {
    const seen: string[] = [];
    const sink = {
      epoch: (r: EpochRecord) => seen.push(`epoch ${r.epoch}`),
      event: (e: RunEvent) => seen.push(`event ${e.kind}`),
    };
    await using writer = await RunWriter.create(playbook(out), { sinks: [sink, sink] });
    const [first, second] = syntheticEpochs(2);
    await writer.event({ time: "2026-01-01T00:00:00Z", kind: "start", message: "go" });
    await writer.writeEpoch(first as EpochRecord);
    await writer.writeEpoch(second as EpochRecord);
    assert.deepEqual(seen, [
      "event start",
      "event start",
      "epoch 0",
      "epoch 0",
      "epoch 1",
      "epoch 1",
    ]);
    const lines = (await Deno.readTextFile(`${writer.dir}/${RUN_FILES.epochs}`)).trim().split("\n");
    assert.equal(lines.length, 2);
  });
});
