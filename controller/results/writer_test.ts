import assert from "node:assert/strict";
import { validatePlaybook } from "../playbook/validate.ts";
import { syntheticEpochs } from "./_synthetic.ts";
import { RUN_FILES } from "./read.ts";
import { RunWriter } from "./writer.ts";

const playbook = (output: string) =>
  validatePlaybook({
    name: "w",
    hosts: {
      mem: { role: "memory", memserver: { capacity: "1GiB" } },
      cn1: { role: "compute", memoryNode: "mem", cache: "512MiB", bandwidth: "1Gbps" },
    },
    apps: [
      { name: "kv", host: "cn1", workload: { kind: "kv", dataset: "256MiB" } },
      { name: "scan", host: "cn1", workload: { kind: "stream", dataset: "256MiB" } },
    ],
    output,
  });

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
