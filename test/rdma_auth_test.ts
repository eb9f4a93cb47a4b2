/**
 * Authentication of RDMA connections and the legacy allow-list, end to end through the CM over
 * the fake_rdma TEST DOUBLE (which carries the client's source address to the server as its
 * peer address). No NIC involved.
 */
import assert from "node:assert/strict";
import { parseCidr } from "../common/ip_address.ts";
import { connectTransport } from "../memserver/client/connect.ts";
import {
  connectRdma,
  probeRdmaServer,
  RdmaAuthError,
  RdmaConnectError,
  type RdmaTransportOptions,
} from "../memserver/client/rdma_transport.ts";
import { MemoryPool } from "../memserver/pool.ts";
import { type RdmaServeOptions, type RdmaServerHandle, serveRdma } from "../memserver/rdma.ts";
import { FAKE_RDMA_PREREQS, useFakeRdmaInProcess } from "./fixtures/fake_rdma/build.ts";
import { systemTest } from "./prereq.ts";

const MiB = 1024 * 1024;
const SECRET = new TextEncoder().encode("0123456789abcdef0123456789abcdef");
const WRONG = new TextEncoder().encode("not the run's secret");

type ServerOptions = Partial<Pick<RdmaServeOptions, "secret" | "legacyAllow" | "now">>;

async function withServer(
  options: ServerOptions,
  fn: (server: RdmaServerHandle, pool: MemoryPool, logs: string[]) => Promise<void>,
): Promise<void> {
  await using fake = await useFakeRdmaInProcess();
  const logs: string[] = [];
  const pool = MemoryPool.reserve(32 * MiB);
  const server = serveRdma(pool, {
    hostname: "127.0.0.1",
    port: 0,
    maxClients: 8,
    log: (line) => logs.push(line),
    ...options,
  });
  try {
    await fn(server, pool, logs);
  } finally {
    await server.close();
    pool.close();
  }
  assert.equal(fake.liveObjects(), 0, "every fake_rdma object was released");
}

/** Connects, allocates 2 MiB, writes and reads back one page; returns the error if any. */
async function roundTrip(
  endpoint: { hostname: string; port: number; token?: Uint8Array },
  options: RdmaTransportOptions = {},
): Promise<void> {
  const transport = await connectRdma(endpoint, options);
  try {
    const region = await transport.allocate(2 * MiB);
    const page = new Uint8Array(4096).map((_, i) => (i * 7 + 3) & 0xff);
    await transport.write(region, 4096, page);
    const back = new Uint8Array(4096);
    await transport.read(region, 4096, back);
    assert.deepEqual(back, page);
  } finally {
    await transport.close();
  }
}

async function rejection(promise: Promise<unknown>): Promise<RdmaConnectError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RdmaConnectError) return error;
    throw error;
  }
  throw new Error("the connection was not refused");
}

const local = (port: number, token?: Uint8Array) => ({
  hostname: "127.0.0.1",
  port,
  ...(token === undefined ? {} : { token }),
});

systemTest(
  "RDMA server with a secret serves a client that proves it",
  FAKE_RDMA_PREREQS,
  () =>
    withServer({ secret: SECRET }, async (server) => {
      const transport = await connectRdma(local(server.addr.port, SECRET));
      try {
        const region = await transport.allocate(2 * MiB);
        const page = new Uint8Array(4096).fill(0x5a);
        await transport.write(region, 0, page);
        const back = new Uint8Array(4096);
        await transport.read(region, 0, back);
        assert.deepEqual(back, page);
        const [client] = server.stats().clients;
        assert.equal(client?.admittedBy, "secret");
        assert.equal(client?.peer, "127.0.0.1");
      } finally {
        await transport.close();
      }
    }),
);

systemTest(
  "RDMA server refuses a wrong secret and the client says so",
  FAKE_RDMA_PREREQS,
  () =>
    withServer({ secret: SECRET }, async (server, pool, logs) => {
      const error = await rejection(roundTrip(local(server.addr.port, WRONG)));
      assert.equal(error.rejection?.reason, "bad-proof");
      assert.match(
        error.message,
        /refused the connection \(bad-proof\): the secret does not match the server's \(check --token-file\)/,
      );
      assert.deepEqual(server.stats().rejectedByReason, { "bad-proof": 1 });
      assert.equal(pool.allocatedBytes, 0);
      assert.ok(
        logs.some((l) => /client 1 from 127\.0\.0\.1 rejected \(bad-proof\)/.test(l)),
        logs.join("\n"),
      );
    }),
);

systemTest(
  "RDMA server refuses a client whose clock is outside the replay window",
  FAKE_RDMA_PREREQS,
  () =>
    withServer({ secret: SECRET, now: () => Date.now() + 120_000 }, async (server) => {
      const error = await rejection(roundTrip(local(server.addr.port, SECRET)));
      assert.equal(error.rejection?.reason, "stale");
      assert.match(error.message, /this host's clock is 1[12]\d\.\d s off the server's/);
    }),
);

systemTest(
  "RDMA server with a secret refuses a legacy client from an address not allowed",
  FAKE_RDMA_PREREQS,
  () =>
    withServer(
      { secret: SECRET, legacyAllow: [parseCidr("10.0.0.0/24")] },
      async (server, _pool, logs) => {
        const error = await rejection(
          roundTrip(local(server.addr.port), { sourceAddress: "10.0.1.7" }),
        );
        assert.equal(error.rejection?.reason, "legacy-not-allowed");
        assert.match(error.message, /needs a secret from this address/);
        assert.ok(
          logs.some((l) =>
            l.includes(
              "client 1 from 10.0.1.7 rejected (legacy-not-allowed): legacy record (no proof) " +
                "from 10.0.1.7; not in --rdma-legacy-allow 10.0.0.0/24",
            )
          ),
          logs.join("\n"),
        );
      },
    ),
);

systemTest(
  "RDMA server with a secret serves a legacy client from an allowed address, IPv4 and IPv6",
  FAKE_RDMA_PREREQS,
  () =>
    withServer(
      { secret: SECRET, legacyAllow: [parseCidr("10.0.0.0/24"), parseCidr("fd00:1::/64")] },
      async (server) => {
        for (const sourceAddress of ["10.0.0.7", "fd00:1::7"]) {
          const transport = await connectRdma(local(server.addr.port), { sourceAddress });
          try {
            const region = await transport.allocate(2 * MiB);
            await transport.write(region, 0, new Uint8Array(4096).fill(1));
            const client = server.stats().clients.find((c) => c.peer === sourceAddress);
            assert.equal(client?.admittedBy, "legacy-allow");
          } finally {
            await transport.close();
          }
        }
        assert.equal(server.stats().rejected, 0);
      },
    ),
);

systemTest(
  "RDMA server without a secret admits legacy clients from anywhere, as before",
  FAKE_RDMA_PREREQS,
  () =>
    withServer({}, async (server) => {
      await roundTrip(local(server.addr.port), { sourceAddress: "203.0.113.9" });
      assert.equal(server.stats().accepted, 1);
    }),
);

systemTest(
  "RDMA client with a secret refuses a server that cannot prove it",
  FAKE_RDMA_PREREQS,
  () =>
    withServer({}, async (server, pool) => {
      const transport = await connectRdma(local(server.addr.port, SECRET));
      try {
        await assert.rejects(
          transport.allocate(2 * MiB),
          (error: unknown) =>
            error instanceof RdmaAuthError &&
            /accepted without proving the secret: it runs without --token-file/.test(
              error.message,
            ),
        );
      } finally {
        await transport.close();
      }
      // The client disconnected at once; the server releases the region on DISCONNECTED.
      const deadline = performance.now() + 5000;
      while (pool.allocatedBytes > 0 && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(pool.allocatedBytes, 0);
    }),
);

systemTest(
  "a probe with a secret finds the RDMA server and auto then connects over RDMA",
  FAKE_RDMA_PREREQS,
  () =>
    withServer({ secret: SECRET }, async (server) => {
      assert.deepEqual(await probeRdmaServer(local(server.addr.port, SECRET)), { offered: true });
      assert.deepEqual(server.stats().rejectedByReason, { probe: 1 });
      const transport = await connectTransport(local(server.addr.port, SECRET));
      try {
        assert.equal(transport.kind, "rdma");
        const region = await transport.allocate(2 * MiB);
        await transport.write(region, 0, new Uint8Array(4096));
        assert.equal(server.stats().clients[0]?.admittedBy, "secret");
      } finally {
        await transport.close();
      }
    }),
);
