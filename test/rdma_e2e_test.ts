/**
 * The whole RDMA path (CM connect, private-data exchange, registration, post and poll through
 * the ops table, disconnect) in one process, over the fake_rdma TEST DOUBLE. No NIC involved.
 */
import assert from "node:assert/strict";
import { RdmaError } from "../ffi/ibverbs.ts";
import {
  connectRdma,
  probeRdmaServer,
  type RdmaTransport,
} from "../memserver/client/rdma_transport.ts";
import { connectTransport } from "../memserver/client/connect.ts";
import { TransportClosedError } from "../memserver/client/transport.ts";
import { MemoryPool } from "../memserver/pool.ts";
import { type RdmaServerHandle, serveRdma } from "../memserver/rdma.ts";
import { runRdmaBench } from "../memserver/rdma_bench.ts";
import { pointerAddress, pointerOf } from "../ffi/pointers.ts";
import { CONSTANTS } from "../ffi/verbs_structs.ts";
import { encodeRegionRecord } from "../memserver/rdma_private_data.ts";
import { FAKE_RDMA_PREREQS, useFakeRdmaInProcess } from "./fixtures/fake_rdma/build.ts";
import { connectRawClient } from "./fixtures/fake_rdma/raw_client.ts";
import { systemTest } from "./prereq.ts";

const MiB = 1024 * 1024;

function pattern(seed: number, bytes = 4096): Uint8Array {
  return new Uint8Array(bytes).map((_, i) => (i * 31 + seed * 7) & 0xff);
}

/** Waits for a condition the server reaches asynchronously (CM events), with a deadline. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function withServer(
  capacityBytes: number,
  fn: (server: RdmaServerHandle, pool: MemoryPool) => Promise<void>,
): Promise<void> {
  await using fake = await useFakeRdmaInProcess();
  const pool = MemoryPool.reserve(capacityBytes);
  const server = serveRdma(pool, { hostname: "127.0.0.1", port: 0, maxClients: 8, log: () => {} });
  try {
    await fn(server, pool);
  } finally {
    await server.close();
    pool.close();
  }
  assert.equal(fake.liveObjects(), 0, "every fake_rdma object was released");
}

systemTest(
  "RDMA transport reads back with RDMA READ what it wrote with RDMA WRITE",
  FAKE_RDMA_PREREQS,
  () =>
    withServer(64 * MiB, async (server, pool) => {
      const transport = await connectRdma({ hostname: "127.0.0.1", port: server.addr.port });
      try {
        const region = await transport.allocate(3 * MiB);
        const offsets = [0, 8192, 2 * MiB + 4096];
        const pages = offsets.map((_, i) => pattern(i + 1));
        await transport.writePages(region, offsets, pages);
        const back = offsets.map(() => new Uint8Array(4096));
        await transport.readPages(region, offsets, back);
        assert.deepEqual(back, pages);
        // The bytes landed in the server's registered region (pool region 1).
        const served = pool.get(1);
        assert.ok(served !== undefined);
        assert.deepEqual(served.bytes.subarray(8192, 8192 + 4096), pages[1]);
        assert.equal(served.sizeBytes, 4 * MiB, "3 MiB request rounded up to 2 MiB units");
        const counters = transport.counters();
        assert.equal(counters.writeBytes, 3 * 4096);
        assert.equal(counters.readBytes, 3 * 4096);
      } finally {
        await transport.close();
      }
    }),
);

systemTest(
  "RDMA transport moves transfers larger than its staging buffer and queue depth",
  FAKE_RDMA_PREREQS,
  () =>
    withServer(32 * MiB, async (server) => {
      const transport = await connectRdma(
        { hostname: "127.0.0.1", port: server.addr.port },
        { queueDepth: 4, stagingBytes: 64 * 1024 },
      );
      try {
        const region = await transport.allocate(4 * MiB);
        const big = pattern(9, 3 * MiB + 123);
        await transport.write(region, 1000, big);
        const back = new Uint8Array(big.length);
        await transport.read(region, 1000, back);
        assert.deepEqual(back, big);
      } finally {
        await transport.close();
      }
    }),
);

systemTest(
  "RDMA server serves several clients at once, each with its own region",
  FAKE_RDMA_PREREQS,
  () =>
    withServer(64 * MiB, async (server) => {
      const transports: RdmaTransport[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          transports.push(await connectRdma({ hostname: "127.0.0.1", port: server.addr.port }));
        }
        const clients = await Promise.all(
          transports.map(async (transport) => ({
            transport,
            region: await transport.allocate(2 * MiB),
          })),
        );
        await Promise.all(
          clients.map(({ transport, region }, i) => transport.write(region, 0, pattern(100 + i))),
        );
        for (const [i, { transport, region }] of clients.entries()) {
          const back = new Uint8Array(4096);
          await transport.read(region, 0, back);
          assert.deepEqual(back, pattern(100 + i), `client ${i} sees only its own data`);
        }
        const stats = server.stats();
        assert.equal(stats.clients.length, 3);
        assert.equal(new Set(stats.clients.map((c) => c.rkey)).size, 3);
        assert.equal(stats.registeredBytes, 6 * MiB);
      } finally {
        await Promise.all(transports.map((t) => t.close()));
      }
      await until(() => server.stats().clients.length === 0, "the server to release clients");
      assert.equal(server.stats().disconnected, 3);
    }),
);

systemTest(
  "RDMA server releases a client's region on disconnect and serves a reconnect",
  FAKE_RDMA_PREREQS,
  () =>
    withServer(8 * MiB, async (server, pool) => {
      const endpoint = { hostname: "127.0.0.1", port: server.addr.port };
      const first = await connectRdma(endpoint);
      const region = await first.allocate(8 * MiB);
      await first.write(region, 0, pattern(1));
      await first.free(region);
      await until(() => pool.allocatedBytes === 0, "the region to return to the pool");
      await first.close();
      const second = await connectRdma(endpoint);
      try {
        const again = await second.allocate(8 * MiB);
        const back = new Uint8Array(4096);
        await second.read(again, 0, back);
        assert.deepEqual(back, new Uint8Array(4096), "a new client gets zeroed memory");
        await second.write(again, 4096, pattern(2));
        await second.read(again, 4096, back);
        assert.deepEqual(back, pattern(2));
      } finally {
        await second.close();
      }
    }),
);

systemTest(
  "RDMA server rejects a request larger than its pool",
  FAKE_RDMA_PREREQS,
  () =>
    withServer(4 * MiB, async (server) => {
      const transport = await connectRdma({ hostname: "127.0.0.1", port: server.addr.port });
      try {
        await assert.rejects(
          transport.allocate(64 * MiB),
          /refused the connection \(no-memory\): the server does not have enough free memory/,
        );
        assert.equal(server.stats().rejected, 1);
        assert.deepEqual(server.stats().rejectedByReason, { "no-memory": 1 });
        assert.equal(server.stats().clients.length, 0);
      } finally {
        await transport.close();
      }
    }),
);

systemTest(
  "RDMA transport fails transfers once the server has shut down",
  FAKE_RDMA_PREREQS,
  async () => {
    await using fake = await useFakeRdmaInProcess();
    const pool = MemoryPool.reserve(8 * MiB);
    const server = serveRdma(pool, {
      hostname: "127.0.0.1",
      port: 0,
      maxClients: 2,
      log: () => {},
    });
    const transport = await connectRdma({ hostname: "127.0.0.1", port: server.addr.port });
    try {
      const region = await transport.allocate(2 * MiB);
      await transport.write(region, 0, pattern(3));
      await server.close();
      pool.close();
      await assert.rejects(
        async () => {
          // The DISCONNECTED event arrives asynchronously; until then posts are flushed.
          for (;;) await transport.read(region, 0, new Uint8Array(4096));
        },
        TransportClosedError,
      );
    } finally {
      await transport.close();
      await server.close();
      pool.close();
    }
    assert.equal(fake.liveObjects(), 0);
  },
);

systemTest(
  "RDMA server cannot listen when the fabric has no device (ENODEV)",
  FAKE_RDMA_PREREQS,
  async () => {
    await using fake = await useFakeRdmaInProcess();
    Deno.env.set("FAKE_RDMA_DEVICES", "0");
    using pool = MemoryPool.onHeap(4 * MiB);
    assert.throws(
      () => serveRdma(pool, { hostname: "127.0.0.1", port: 0, maxClients: 1, log: () => {} }),
      (error: unknown) =>
        error instanceof RdmaError && error.call === "rdma_bind_addr" && error.errno === 19,
    );
    assert.equal(fake.liveObjects(), 0, "the failed start released its channel and id");
  },
);

systemTest(
  "RDMA transport works on the UnsafeFnPointer call path too",
  FAKE_RDMA_PREREQS,
  () =>
    withServer(8 * MiB, async (server) => {
      const transport = await connectRdma(
        { hostname: "127.0.0.1", port: server.addr.port },
        { callPath: "fnpointer" },
      );
      try {
        const region = await transport.allocate(2 * MiB);
        await transport.write(region, 4096, pattern(5));
        const back = new Uint8Array(4096);
        await transport.read(region, 4096, back);
        assert.deepEqual(back, pattern(5));
      } finally {
        await transport.close();
      }
    }),
);

systemTest(
  "probeRdmaServer finds a listening RDMA memory server without taking memory",
  FAKE_RDMA_PREREQS,
  () =>
    withServer(8 * MiB, async (server, pool) => {
      const offer = await probeRdmaServer({ hostname: "127.0.0.1", port: server.addr.port });
      assert.deepEqual(offer, { offered: true });
      assert.equal(pool.allocatedBytes, 0);
      assert.equal(server.stats().rejected, 1);
    }),
);

systemTest(
  "probeRdmaServer reports no offer when nothing listens on the port",
  FAKE_RDMA_PREREQS,
  async () => {
    await using fake = await useFakeRdmaInProcess();
    const offer = await probeRdmaServer({ hostname: "127.0.0.1", port: 9 });
    assert.equal(offer.offered, false);
    assert.match(offer.offered ? "" : offer.reason, /RDMA_CM_EVENT_REJECTED \(status 8\)/);
    assert.equal(fake.liveObjects(), 0);
  },
);

systemTest(
  "connectTransport auto chooses RDMA when the memory node offers it",
  FAKE_RDMA_PREREQS,
  () =>
    withServer(8 * MiB, async (server) => {
      const transport = await connectTransport({ hostname: "127.0.0.1", port: server.addr.port });
      try {
        assert.equal(transport.kind, "rdma");
        const region = await transport.allocate(4096);
        await transport.write(region, 0, pattern(8));
        const back = new Uint8Array(4096);
        await transport.read(region, 0, back);
        assert.deepEqual(back, pattern(8));
      } finally {
        await transport.close();
      }
    }),
);

systemTest(
  "RDMA server releases the region of a client process that dies without disconnecting",
  FAKE_RDMA_PREREQS,
  () =>
    withServer(16 * MiB, async (server, pool) => {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./fixtures/fake_rdma/rdma_client_child.ts", import.meta.url).pathname,
          String(server.addr.port),
          String(6 * MiB),
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      let killed = false;
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      try {
        const first = await reader.read();
        assert.equal(first.value?.trim(), "ready");
        assert.equal(server.stats().clients.length, 1);
        assert.equal(pool.allocatedBytes, 6 * MiB);
        child.kill("SIGKILL");
        killed = true;
        await until(() => server.stats().clients.length === 0, "the dead client's release");
        assert.equal(pool.allocatedBytes, 0);
        assert.equal(server.stats().disconnected, 1);
      } finally {
        if (!killed) child.kill("SIGKILL");
        await child.status;
        await reader.cancel();
      }
    }),
);

systemTest(
  "the RDMA loopback benchmark measures writes and reads per batch size",
  FAKE_RDMA_PREREQS,
  async () => {
    await using fake = await useFakeRdmaInProcess();
    const rows = await runRdmaBench({
      hostname: "127.0.0.1",
      pages: 32,
      pageBytes: 4096,
      batches: [1, 8],
    });
    assert.deepEqual(rows.map((r) => `${r.op}/${r.batchPages}`), [
      "write/1",
      "read/1",
      "write/8",
      "read/8",
    ]);
    assert.ok(rows.every((r) => r.pages === 32 && r.pagesPerSec > 0));
    assert.equal(fake.liveObjects(), 0);
  },
);

for (const failing of ["ibv_reg_mr", "rdma_accept"]) {
  systemTest(
    `RDMA server rejects a client and releases everything when ${failing} fails`,
    FAKE_RDMA_PREREQS,
    async () => {
      await using fake = await useFakeRdmaInProcess();
      const logs: string[] = [];
      const pool = MemoryPool.reserve(8 * MiB);
      const server = serveRdma(pool, {
        hostname: "127.0.0.1",
        port: 0,
        maxClients: 2,
        log: (line) => logs.push(line),
      });
      const transport = await connectRdma({ hostname: "127.0.0.1", port: server.addr.port });
      try {
        Deno.env.set("FAKE_RDMA_FAIL", failing);
        await assert.rejects(
          transport.allocate(2 * MiB),
          /refused the connection \(server-error\): the server failed to set up/,
        );
      } finally {
        Deno.env.delete("FAKE_RDMA_FAIL");
        await transport.close();
        await server.close();
        pool.close();
      }
      assert.equal(server.stats().rejected, 1);
      assert.equal(pool.allocatedBytes, 0);
      assert.ok(logs.some((line) => line.includes(`${failing} failed`)), logs.join("\n"));
      assert.ok(!logs.some((line) => line.includes("cleanup failed")), logs.join("\n"));
      assert.equal(fake.liveObjects(), 0);
    },
  );
}

systemTest(
  "RDMA server keeps each client's region in its own protection domain",
  FAKE_RDMA_PREREQS,
  () =>
    withServer(16 * MiB, async (server, pool) => {
      const victim = await connectRdma({ hostname: "127.0.0.1", port: server.addr.port });
      try {
        const region = await victim.allocate(2 * MiB);
        await victim.write(region, 0, pattern(42));
        const victimRegion = pool.get(1);
        const victimRkey = server.stats().clients[0]?.rkey;
        if (victimRegion === undefined || victimRkey === undefined) throw new Error("no victim");
        const victimAddress = pointerAddress(victimRegion.pointer ?? pointerOf(victimRegion.bytes));
        await using attacker = await connectRawClient(
          { hostname: "127.0.0.1", port: server.addr.port },
          encodeRegionRecord({ addr: 0n, rkey: 0, sizeBytes: BigInt(2 * MiB) }),
        );
        // Its own region: allowed (the check below is not failing for another reason).
        const own = attacker.read({
          rkey: attacker.granted.rkey,
          remoteAddress: attacker.granted.addr,
          lengthBytes: 4096,
        });
        assert.equal(own, CONSTANTS.IBV_WC_SUCCESS);
        // The other client's region, with its true rkey and address: refused by the PD check.
        const other = attacker.read({
          rkey: victimRkey,
          remoteAddress: victimAddress,
          lengthBytes: 4096,
        });
        assert.equal(other, CONSTANTS.IBV_WC_REM_ACCESS_ERR);
      } finally {
        await victim.close();
      }
    }),
);
