/**
 * System tests of `spirit memserver` over TCP: round trips, batches, concurrent clients, bounds,
 * capacity, authentication, statistics and clean shutdown.
 */
import assert from "node:assert/strict";
import { connectTcp } from "../memserver/client/tcp_transport.ts";
import { RemoteError } from "../memserver/client/transport.ts";
import { makeTokenFile, type MemserverChild, startMemserver } from "./memserver_fixture.ts";

async function withServer(
  fn: (server: MemserverChild, token: Uint8Array) => Promise<void>,
  options: { capacity?: string } = {},
): Promise<void> {
  const secret = await makeTokenFile();
  const server = await startMemserver({ tokenFile: secret.path, ...options });
  try {
    await fn(server, secret.token);
  } finally {
    await server.stop();
    await Deno.remove(secret.dir, { recursive: true });
  }
}

Deno.test("memserver prints a ready line with the port it bound", async () => {
  await withServer((server) => {
    assert.equal(server.ready.event, "ready");
    assert.equal(server.hostname, "127.0.0.1");
    assert.ok(server.port > 0);
    assert.equal(server.ready.capacityBytes, 64 * 1024 * 1024);
    return Promise.resolve();
  });
});

Deno.test("memserver round-trips single pages, large transfers and batches", async () => {
  await withServer(async (server, token) => {
    const client = await connectTcp({ hostname: server.hostname, port: server.port, token });
    try {
      const region = await client.allocate(4 << 20);
      const big = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
      await client.write(region, 4096, big);
      const back = new Uint8Array(1 << 20);
      await client.read(region, 4096, back);
      assert.deepEqual(back, big);
      const pages = [0, 7, 300].map((n) => new Uint8Array(4096).fill(n & 0xff));
      await client.writePages(region, [0, 7 * 4096, 300 * 4096], pages);
      const targets = [0, 1, 2].map(() => new Uint8Array(4096));
      await client.readPages(region, [300 * 4096, 0, 7 * 4096], targets);
      assert.deepEqual(targets.map((t) => t[100]), [300 & 0xff, 0, 7]);
    } finally {
      await client.close();
    }
  });
});

Deno.test("memserver pipelines many requests in flight and answers each by id", async () => {
  await withServer(async (server, token) => {
    const client = await connectTcp({ hostname: server.hostname, port: server.port, token });
    try {
      const region = await client.allocate(1 << 20);
      const writes = Array.from(
        { length: 256 },
        (_, i) => client.write(region, i * 4096, new Uint8Array(4096).fill(i & 0xff)),
      );
      await Promise.all(writes);
      const targets = Array.from({ length: 256 }, () => new Uint8Array(4096));
      await Promise.all(targets.map((t, i) => client.read(region, i * 4096, t)));
      assert.ok(targets.every((t, i) => t[4095] === (i & 0xff)));
      assert.ok(client.counters().maxInFlight >= 64);
    } finally {
      await client.close();
    }
  });
});

Deno.test("memserver serves many concurrent clients in separate regions", async () => {
  await withServer(async (server, token) => {
    const clients = await Promise.all(
      Array.from(
        { length: 16 },
        () => connectTcp({ hostname: server.hostname, port: server.port, token }),
      ),
    );
    try {
      await Promise.all(clients.map(async (client, c) => {
        const region = await client.allocate(256 * 1024);
        for (let round = 0; round < 20; round++) {
          await client.write(
            region,
            round * 4096,
            new Uint8Array(4096).fill((c * 20 + round) & 0xff),
          );
        }
        for (let round = 0; round < 20; round++) {
          const page = new Uint8Array(4096);
          await client.read(region, round * 4096, page);
          assert.equal(page[0], (c * 20 + round) & 0xff);
        }
      }));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});

Deno.test("memserver refuses out-of-bounds access and regions of other clients", async () => {
  await withServer(async (server, token) => {
    const a = await connectTcp({ hostname: server.hostname, port: server.port, token });
    const b = await connectTcp({ hostname: server.hostname, port: server.port, token });
    try {
      const region = await a.allocate(8192);
      await assert.rejects(
        a.read(region, 8192, new Uint8Array(1)),
        (e) => e instanceof RemoteError && e.statusName === "OUT_OF_BOUNDS",
      );
      await assert.rejects(
        a.write(region, 2 ** 52, new Uint8Array(1)),
        (e) => e instanceof RemoteError && e.statusName === "OUT_OF_BOUNDS",
      );
      await assert.rejects(
        a.readPages(region, [0, 8190], [new Uint8Array(4), new Uint8Array(4)]),
        (e) => e instanceof RemoteError && e.statusName === "OUT_OF_BOUNDS",
      );
      await assert.rejects(
        b.read(region, 0, new Uint8Array(1)),
        (e) => e instanceof RemoteError && e.statusName === "NO_SUCH_REGION",
      );
      const page = new Uint8Array(8);
      await a.read(region, 0, page);
      assert.deepEqual(
        [...page],
        [0, 0, 0, 0, 0, 0, 0, 0],
        "the connection still works after errors",
      );
    } finally {
      await a.close();
      await b.close();
    }
  });
});

Deno.test("memserver enforces its capacity and frees regions on disconnect", async () => {
  await withServer(async (server, token) => {
    const a = await connectTcp({ hostname: server.hostname, port: server.port, token });
    await a.allocate(12 << 20);
    await assert.rejects(
      a.allocate(8 << 20),
      (e) => e instanceof RemoteError && e.statusName === "NO_SPACE",
    );
    await a.close();
    const b = await connectTcp({ hostname: server.hostname, port: server.port, token });
    try {
      const stats = await waitFor(b, (s) => s.pool.allocatedBytes === 0);
      assert.equal(stats.pool.allocatedBytes, 0);
      await b.allocate(16 << 20);
    } finally {
      await b.close();
    }
  }, { capacity: "16MiB" });
});

interface Stats {
  pool: { allocatedBytes: number };
  clients: Array<{ clientId: number; readBytes: number; writeBytes: number; ops: number }>;
}

/** Polls the stats op until `ok` holds (the server frees a region when it sees the close). */
async function waitFor(
  client: Awaited<ReturnType<typeof connectTcp>>,
  ok: (stats: Stats) => boolean,
): Promise<Stats> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const stats = await client.serverStats() as Stats;
    if (ok(stats)) return stats;
    await client.serverStats();
  }
  throw new Error("the server's statistics never reached the expected state");
}

Deno.test("memserver rejects a wrong token and closes the connection", async () => {
  await withServer(async (server) => {
    await assert.rejects(
      connectTcp({
        hostname: server.hostname,
        port: server.port,
        token: new TextEncoder().encode("wrong"),
      }),
      (e) => e instanceof RemoteError && e.statusName === "AUTH_FAILED",
    );
    await assert.rejects(
      connectTcp({ hostname: server.hostname, port: server.port }),
      (e) => e instanceof RemoteError && e.statusName === "AUTH_FAILED",
    );
  });
});

Deno.test("memserver reports per-client statistics through the stats operation", async () => {
  await withServer(async (server, token) => {
    const client = await connectTcp({ hostname: server.hostname, port: server.port, token });
    try {
      const region = await client.allocate(65536);
      await client.write(region, 0, new Uint8Array(8192));
      await client.read(region, 0, new Uint8Array(4096));
      const stats = await client.serverStats() as Stats;
      const mine = stats.clients.find((c) => c.clientId === client.clientId);
      assert.ok(mine !== undefined);
      assert.equal(mine.writeBytes, 8192);
      assert.equal(mine.readBytes, 4096);
      assert.equal(stats.pool.allocatedBytes, 65536);
    } finally {
      await client.close();
    }
  });
});

Deno.test("memserver shuts down cleanly on SIGTERM with clients connected", async () => {
  const secret = await makeTokenFile();
  const server = await startMemserver({ tokenFile: secret.path, extraArgs: ["--json-stats"] });
  const client = await connectTcp({
    hostname: server.hostname,
    port: server.port,
    token: secret.token,
  });
  try {
    await client.allocate(4096);
    const { code, lines } = await server.stop();
    assert.equal(code, 0);
    assert.equal(JSON.parse(lines.at(-1) ?? "{}").event, "stopped");
    assert.equal(JSON.parse(lines.at(-2) ?? "{}").event, "stats");
  } finally {
    await client.close();
    await Deno.remove(secret.dir, { recursive: true });
  }
});

Deno.test("memserver exits with status 2 on bad arguments", async () => {
  const main = new URL("../memserver/main.ts", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "--listen", "nowhere", "--capacity", "1GiB"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 2);
  assert.match(new TextDecoder().decode(output.stderr), /Invalid address "nowhere"/);
});
