import assert from "node:assert/strict";
import { MemoryPool } from "../pool.ts";
import { LocalTransport } from "./local_transport.ts";
import { PAGE_BYTES, PageCache } from "./page_cache.ts";

async function withCache(
  options: { datasetPages: number; cachePages: number; prefetch?: boolean },
  fn: (cache: PageCache) => Promise<void>,
): Promise<void> {
  using pool = MemoryPool.onHeap(options.datasetPages * PAGE_BYTES);
  const transport = new LocalTransport(pool);
  const cache = await PageCache.open(transport, {
    datasetBytes: options.datasetPages * PAGE_BYTES,
    cacheBytes: options.cachePages * PAGE_BYTES,
    bandwidthBytesPerSec: Number.POSITIVE_INFINITY,
    prefetch: options.prefetch ?? false,
  });
  try {
    await fn(cache);
  } finally {
    await cache.close();
    await transport.close();
  }
}

Deno.test("page cache reads back data written before eviction and write-back", async () => {
  await withCache({ datasetPages: 256, cachePages: 16 }, async (cache) => {
    for (let page = 0; page < 256; page++) {
      const frame = await cache.access(page, true);
      frame.fill(page & 0xff);
      new DataView(frame.buffer, frame.byteOffset).setUint32(0, page * 7, true);
    }
    for (let page = 255; page >= 0; page--) {
      const frame = await cache.access(page, false);
      assert.equal(new DataView(frame.buffer, frame.byteOffset).getUint32(0, true), page * 7);
      assert.equal(frame[PAGE_BYTES - 1], page & 0xff);
    }
    assert.ok(cache.counters().writebacks >= 240);
  });
});

Deno.test("page cache flush writes dirty pages to remote memory", async () => {
  await withCache({ datasetPages: 32, cachePages: 32 }, async (cache) => {
    (await cache.access(3, true)).fill(9);
    await cache.flush();
    const remote = new Uint8Array(PAGE_BYTES);
    await cache.transport.read(cache.region, 3 * PAGE_BYTES, remote);
    assert.ok(remote.every((x) => x === 9));
  });
});

Deno.test("page cache never holds more pages than its capacity", async () => {
  await withCache({ datasetPages: 512, cachePages: 32 }, async (cache) => {
    for (let i = 0; i < 5000; i++) await cache.access((i * 37) % 512, i % 3 === 0);
    assert.ok(cache.residentPages <= 32, `resident ${cache.residentPages}`);
  });
});

Deno.test("page cache counts hits and misses", async () => {
  await withCache({ datasetPages: 64, cachePages: 64 }, async (cache) => {
    for (let round = 0; round < 3; round++) {
      for (let page = 0; page < 64; page++) await cache.access(page, false);
    }
    const counters = cache.counters();
    assert.equal(counters.accesses, 192);
    assert.equal(counters.misses, 64);
    assert.equal(counters.hits, 128);
    assert.equal(counters.remoteReadBytes, 64 * PAGE_BYTES);
  });
});

Deno.test("page cache shrinks at once when its capacity is lowered", async () => {
  await withCache({ datasetPages: 256, cachePages: 200 }, async (cache) => {
    for (let page = 0; page < 200; page++) (await cache.access(page, true)).fill(1);
    await cache.setLimits({ cacheBytes: 20 * PAGE_BYTES, bandwidthBytesPerSec: 1e9 });
    assert.ok(cache.residentPages <= 20);
    assert.equal(cache.counters().cacheBytes, 20 * PAGE_BYTES);
    assert.equal(cache.counters().bandwidthBytesPerSec, 1e9);
    const remote = new Uint8Array(PAGE_BYTES);
    await cache.transport.read(cache.region, 5 * PAGE_BYTES, remote);
    assert.ok(remote.every((x) => x === 1), "evicted dirty pages are written back");
  });
});

Deno.test("page cache prefetches sequential runs", async () => {
  await withCache({ datasetPages: 1024, cachePages: 512, prefetch: true }, async (cache) => {
    for (let page = 0; page < 1024; page++) await cache.access(page, false);
    const counters = cache.counters();
    assert.ok(counters.prefetchedPages > 900, `prefetched ${counters.prefetchedPages}`);
    assert.ok(counters.hits > 900, `hits ${counters.hits}`);
  });
});

Deno.test("page cache rejects pages outside its dataset", async () => {
  await withCache({ datasetPages: 8, cachePages: 8 }, (cache) => {
    assert.throws(() => cache.lookup(8, false), RangeError);
    assert.throws(() => cache.lookup(-1, false), RangeError);
    return Promise.resolve();
  });
});
