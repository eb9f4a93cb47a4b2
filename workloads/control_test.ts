import assert from "node:assert/strict";
import { type FarmemResponse, farmemSampleSchema } from "../common/farmem_control.ts";
import { MemoryPool } from "../memserver/pool.ts";
import { LocalTransport } from "../memserver/client/local_transport.ts";
import { PageCache } from "../memserver/client/page_cache.ts";
import { parseRequest, serveControl } from "./control.ts";
import { KvWorkload } from "./kv.ts";
import { parseSchedule, PhasedWorkload } from "./phased.ts";
import { WorkloadRunner } from "./runner.ts";
import { idleFarmemSample } from "../test/fixtures/farmem_sample.ts";

Deno.test("control requests are validated with the field named", () => {
  assert.deepEqual(parseRequest('{"id":1,"op":"sample"}'), { id: 1, op: "sample" });
  assert.throws(() => parseRequest("{"), /not JSON/);
  assert.throws(() => parseRequest('{"op":"sample"}'), /numeric id/);
  assert.throws(() => parseRequest('{"id":1,"op":"dance"}'), /Unknown op/);
  assert.throws(
    () => parseRequest('{"id":1,"op":"set-limits","cacheBytes":-5,"bandwidthBytesPerSec":1}'),
    /cacheBytes/,
  );
});

async function* requests(): AsyncGenerator<string> {
  yield '{"id":1,"op":"sample"}';
  yield "not json";
  yield '{"id":2,"op":"set-limits","cacheBytes":65536,"bandwidthBytesPerSec":5000000}';
  yield '{"id":3,"op":"stop"}';
  yield '{"id":4,"op":"sample"}';
}

Deno.test("control channel answers every request with one line carrying its id", async () => {
  using pool = MemoryPool.onHeap(4 << 20);
  const transport = new LocalTransport(pool);
  const cache = await PageCache.open(transport, {
    datasetBytes: 1 << 20,
    cacheBytes: 1 << 20,
    bandwidthBytesPerSec: 1e9,
  });
  try {
    const workload = new KvWorkload({ firstPage: 0, pages: cache.pages }, cache.pageBytes);
    await workload.load(cache);
    const runner = new WorkloadRunner(cache, workload);
    const running = runner.run({ durationMs: Number.POSITIVE_INFINITY });
    const responses: FarmemResponse[] = [];
    await serveControl(requests(), {
      runner,
      write: (line) => void responses.push(JSON.parse(line)),
    });
    await running;
    assert.deepEqual(responses.map((r) => [r.id, r.ok]), [[1, true], [-1, false], [2, true], [
      3,
      true,
    ]]);
    assert.equal(cache.counters().cacheBytes, 65536);
    assert.equal(cache.counters().bandwidthBytesPerSec, 5e6);
  } finally {
    await cache.close();
  }
});

Deno.test("a phased workload's samples carry its current phase, which the channel's schema accepts", async () => {
  using pool = MemoryPool.onHeap(4 << 20);
  const cache = await PageCache.open(new LocalTransport(pool), {
    datasetBytes: 1 << 20,
    cacheBytes: 1 << 20,
    bandwidthBytesPerSec: 1e9,
  });
  try {
    let nowMs = 0;
    const workload = new PhasedWorkload({ firstPage: 0, pages: cache.pages }, {
      pageBytes: cache.pageBytes,
      schedule: parseSchedule("kv:10s,stream:10s"),
      nowMs: () => nowMs,
    });
    await workload.load(cache);
    const runner = new WorkloadRunner(cache, workload);
    await workload.step(cache);
    const first = farmemSampleSchema.parse(runner.sample());
    nowMs = 10_000;
    await workload.step(cache);
    const second = farmemSampleSchema.parse(runner.sample());
    assert.deepEqual([first.phase, second.phase], ["kv", "stream"]);
    const plain = new WorkloadRunner(cache, new KvWorkload({ firstPage: 0, pages: 4 }, 4096));
    assert.equal("phase" in plain.sample(), false);
  } finally {
    await cache.close();
  }
});

Deno.test("the channel's sample schema refuses a phase that is not a short printable name", () => {
  const sample = { ...idleFarmemSample(), bandwidthBytesPerSec: null };
  assert.equal(farmemSampleSchema.safeParse({ ...sample, phase: "kv" }).success, true);
  for (const phase of ["", "kv\nstream", "x".repeat(65), 3]) {
    const result = farmemSampleSchema.safeParse({ ...sample, phase });
    assert.equal(result.success, false, JSON.stringify(phase));
    assert.deepEqual(result.error?.issues[0]?.path, ["phase"]);
  }
});
