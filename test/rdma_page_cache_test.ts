/**
 * The far-memory page cache over the RDMA transport (fake_rdma TEST DOUBLE): pages evicted
 * from a small cache are written back with RDMA WRITE and fetched again with RDMA READ.
 */
import assert from "node:assert/strict";
import { PageCache } from "../memserver/client/page_cache.ts";
import { connectRdma } from "../memserver/client/rdma_transport.ts";
import { MemoryPool } from "../memserver/pool.ts";
import { serveRdma } from "../memserver/rdma.ts";
import { FAKE_RDMA_PREREQS, useFakeRdmaInProcess } from "./fixtures/fake_rdma/build.ts";
import { systemTest } from "./prereq.ts";

const MiB = 1 << 20;

systemTest(
  "page cache over RDMA keeps every page's contents through eviction and refetch",
  FAKE_RDMA_PREREQS,
  async () => {
    await using fake = await useFakeRdmaInProcess();
    const pool = MemoryPool.reserve(32 * MiB);
    const server = serveRdma(pool, {
      hostname: "127.0.0.1",
      port: 0,
      maxClients: 2,
      log: () => {},
    });
    const transport = await connectRdma({ hostname: "127.0.0.1", port: server.addr.port });
    try {
      const cache = await PageCache.open(transport, {
        datasetBytes: 8 * MiB,
        cacheBytes: 1 * MiB,
        bandwidthBytesPerSec: Infinity,
        mrcSampleRate: 0,
      });
      try {
        for (let page = 0; page < cache.pages; page++) {
          const frame = await cache.access(page, true);
          new DataView(frame.buffer, frame.byteOffset).setUint32(0, page * 2654435761 >>> 0);
        }
        await cache.flush();
        for (let page = cache.pages - 1; page >= 0; page--) {
          const frame = await cache.access(page, false);
          const marker = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
          assert.equal(marker, page * 2654435761 >>> 0, `page ${page}`);
        }
        const counters = transport.counters();
        assert.ok(counters.writeBytes >= 7 * MiB, "evicted pages were written back");
        assert.ok(counters.readBytes >= 7 * MiB, "evicted pages were read again");
      } finally {
        await cache.close({ freeRegion: true });
      }
    } finally {
      await transport.close();
      await server.close();
      pool.close();
    }
    assert.equal(fake.liveObjects(), 0);
  },
);
