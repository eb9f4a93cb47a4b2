import assert from "node:assert/strict";
import type { FarmemResponse } from "../common/farmem_control.ts";
import { MemoryPool } from "../memserver/pool.ts";
import { LocalTransport } from "../memserver/client/local_transport.ts";
import { PageCache } from "../memserver/client/page_cache.ts";
import { parseRequest, serveControl } from "./control.ts";
import { KvWorkload } from "./kv.ts";
import { WorkloadRunner } from "./runner.ts";

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
