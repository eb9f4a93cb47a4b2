/**
 * The C swap engine on its own: its FUSE file read and written with direct I/O (no loop device,
 * no swap, so no other program's pages are ever at stake), while the link to the memory server
 * is cut (a TCP proxy drops every connection), the server restarts (the region is gone), or the
 * server stays away (retries run out).
 */
import assert from "node:assert/strict";
import { unmountPath } from "../ffi/fuse.ts";
import { type MemserverProcess, spawnMemserver } from "../memserver/spawn.ts";
import type { SwapEvent } from "../remote_swap/backend.ts";
import { CEngine } from "../remote_swap/engine/c_engine.ts";
import { buildSwapEngine } from "../remote_swap/engine/build.ts";
import { REMOTE_SWAP_PREREQS } from "./fixtures/remote_swap.ts";
import { systemTest } from "./prereq.ts";

const MiB = 1 << 20;

/** Forwards TCP connections to `port`; `drop()` cuts every connection open now. */
class DroppingProxy {
  readonly port: number;
  readonly #listener: Deno.TcpListener;
  readonly #open = new Set<Deno.TcpConn>();
  readonly #pumps = new Set<Promise<unknown>>();
  readonly #accepting: Promise<void>;

  constructor(targetPort: number) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    this.port = listener.addr.port;
    this.#accepting = (async () => {
      try {
        for await (const client of listener) {
          let server: Deno.TcpConn;
          try {
            server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
          } catch (error) {
            // The memory server is down (restarting): the client sees its connection close.
            if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
            close(client);
            continue;
          }
          this.#open.add(client).add(server);
          const pump = Promise.allSettled([
            client.readable.pipeTo(server.writable),
            server.readable.pipeTo(client.writable),
          ]).finally(() => {
            this.#open.delete(client);
            this.#open.delete(server);
          });
          this.#pumps.add(pump);
          pump.finally(() => this.#pumps.delete(pump));
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.BadResource)) throw error;
      }
    })();
  }

  drop(): void {
    for (const conn of this.#open) close(conn);
  }

  async close(): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    this.drop();
    await Promise.allSettled([...this.#pumps]);
  }
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

/** dd with direct I/O on the engine's file; returns the exit code and what was read. */
async function dd(args: string[]): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const output = await new Deno.Command("dd", { args, stdout: "piped", stderr: "piped" }).output();
  return {
    code: output.code,
    stdout: output.stdout,
    stderr: new TextDecoder().decode(output.stderr),
  };
}

interface EngineRig {
  readonly file: string;
  readonly events: SwapEvent[];
  readonly engine: CEngine;
  readonly memserverPort: number;
  /** Writes `data` at `offset` (MiB). */
  write(offsetMiB: number, data: Uint8Array): Promise<number>;
  /** Reads `MiB` at `offset` (MiB); null when the read failed. */
  read(offsetMiB: number): Promise<Uint8Array | null>;
  /** Reads `count` blocks of `blockKiB` from block `skip` in order, one dd (one read each). */
  readBlocks(blockKiB: number, skip: number, count: number): Promise<Uint8Array | null>;
  /** Writes `data` at `offsetKiB`. */
  writeAt(offsetKiB: number, data: Uint8Array): Promise<number>;
  restartMemserver(): Promise<void>;
  stopMemserver(): Promise<void>;
  proxy: DroppingProxy;
}

/** Asserts `actual` holds exactly `expected` (without printing megabytes on a mismatch). */
function assertBytes(actual: Uint8Array | null, expected: Uint8Array, what: string): void {
  assert.ok(actual !== null, `${what}: the read failed`);
  const first = actual.findIndex((byte, i) => byte !== expected[i]);
  assert.ok(
    actual.length === expected.length && first === -1,
    `${what}: ${actual.length} bytes read, first difference at ${first}`,
  );
}

function pattern(seed: number): Uint8Array {
  return new Uint8Array(MiB).map((_, i) => (i * 31 + seed + (i >> 12)) & 0xff);
}

async function withEngine(
  retry: { budgetMs: number; retryEveryMs: number },
  fn: (rig: EngineRig) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spirit-swap-engine-test-" });
  const tokenFile = `${dir}/token`;
  await Deno.writeTextFile(tokenFile, `${crypto.randomUUID()}\n`, { mode: 0o600 });
  let memserver: MemserverProcess | null = await spawnMemserver({ tokenFile, capacity: "64MiB" });
  const memserverPort = memserver.port;
  const proxy = new DroppingProxy(memserverPort);
  const mountpoint = `${dir}/mnt`;
  await Deno.mkdir(mountpoint);
  const events: SwapEvent[] = [];
  let engine: CEngine | null = null;
  try {
    engine = await CEngine.start({
      binary: await buildSwapEngine(dir),
      mountpoint,
      fsName: "spirit-swap-engine-test",
      sizeBytes: 32 * MiB,
      ip: "127.0.0.1",
      port: proxy.port,
      tokenFile,
      workers: 2,
      writeCapBytesPerSec: 0,
      ioTimeoutMs: 2000,
      retry: { initialDelayMs: 20, maxDelayMs: 200, ...retry },
      onEvent: (event) => events.push(event),
    });
    const file = `${mountpoint}/swap`;
    const scratch = `${dir}/scratch`;
    await fn({
      file,
      events,
      engine,
      memserverPort,
      proxy,
      async write(offsetMiB, data) {
        await Deno.writeFile(scratch, data);
        const args = [`if=${scratch}`, `of=${file}`, "bs=1M", "count=1", `seek=${offsetMiB}`];
        return (await dd([...args, "oflag=direct", "conv=notrunc"])).code;
      },
      async readBlocks(blockKiB, skip, count) {
        const result = await dd([
          `if=${file}`,
          `bs=${blockKiB}K`,
          `count=${count}`,
          `skip=${skip}`,
          "iflag=direct",
        ]);
        return result.code === 0 ? result.stdout : null;
      },
      async writeAt(offsetKiB, data) {
        await Deno.writeFile(scratch, data);
        const args = [`if=${scratch}`, `of=${file}`, "bs=4K", `seek=${offsetKiB / 4}`];
        return (await dd([...args, "oflag=direct", "conv=notrunc"])).code;
      },
      async read(offsetMiB) {
        const result = await dd([
          `if=${file}`,
          "bs=1M",
          "count=1",
          `skip=${offsetMiB}`,
          "iflag=direct",
        ]);
        return result.code === 0 ? result.stdout : null;
      },
      async restartMemserver() {
        await memserver?.stop();
        memserver = await spawnMemserver({
          tokenFile,
          capacity: "64MiB",
          listen: `127.0.0.1:${memserverPort}`,
        });
      },
      async stopMemserver() {
        await memserver?.stop();
        memserver = null;
      },
    });
  } finally {
    unmountPath(mountpoint, { lazy: true });
    if (engine !== null && !(await engine.stopped(20_000))) engine.kill();
    await proxy.close();
    await memserver?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

systemTest(
  "swap engine: a dropped connection is re-established and the region re-attached, data intact",
  REMOTE_SWAP_PREREQS,
  () =>
    withEngine({ budgetMs: 10_000, retryEveryMs: 500 }, async (rig) => {
      const data = pattern(1);
      assert.equal(await rig.write(4, data), 0);
      assertBytes(await rig.read(4), data, "read back");
      rig.proxy.drop();
      assertBytes(await rig.read(4), data, "the pages survived the dropped connection");
      assert.ok(rig.events.some((e) => e.event === "connection-lost"));
      const reconnected = rig.events.filter((e) => e.event === "reconnected");
      assert.ok(reconnected.length >= 1);
      assert.ok(reconnected.every((e) => e.event === "reconnected" && e.reattached));
      const { totals } = await rig.engine.snapshot();
      assert.equal(totals.lostPages, 0);
      assert.equal(totals.storedPages, 256);
      assert.ok(totals.reconnects >= 1);
    }),
);

systemTest(
  "swap engine: a restarted memory server has lost the region: reads of its pages fail with EIO, new writes work",
  REMOTE_SWAP_PREREQS,
  () =>
    withEngine({ budgetMs: 20_000, retryEveryMs: 500 }, async (rig) => {
      assert.equal(await rig.write(2, pattern(2)), 0);
      await rig.restartMemserver();
      assert.ok(await rig.read(2) === null, "lost pages read as an I/O error, never as zeros");
      const lost = rig.events.find((e) => e.event === "remote-lost");
      assert.ok(lost !== undefined && lost.event === "remote-lost");
      assert.equal(lost.lostPages, 256);
      assert.match(lost.message, /256 stored pages are lost; programs that touch them get SIGBUS/);
      const fresh = pattern(3);
      assert.equal(await rig.write(2, fresh), 0);
      assertBytes(await rig.read(2), fresh, "a rewritten page is stored again");
      const { totals } = await rig.engine.snapshot();
      assert.equal(totals.lostPages, 0);
      assert.ok(totals.ioErrors >= 1);
    }),
);

systemTest(
  "swap engine: with the memory server gone for good, I/O fails with EIO after the retry budget and it says so",
  REMOTE_SWAP_PREREQS,
  () =>
    withEngine({ budgetMs: 1500, retryEveryMs: 60_000 }, async (rig) => {
      assert.equal(await rig.write(1, pattern(4)), 0);
      await rig.stopMemserver();
      assert.ok(await rig.read(1) === null, "reads of stored pages fail while the server is away");
      assert.ok(rig.events.some((e) => e.event === "unavailable"));
      const { links } = await rig.engine.snapshot();
      assert.ok(links.includes(2), `a link is unavailable: ${links}`);
      assertBytes(
        await rig.read(3),
        new Uint8Array(MiB),
        "pages never written read as zeros without the memory server",
      );
    }),
);

systemTest(
  "swap engine: the node-level write cap bounds swap-out and is changed live",
  REMOTE_SWAP_PREREQS,
  () =>
    withEngine({ budgetMs: 10_000, retryEveryMs: 500 }, async (rig) => {
      const capBytesPerSec = 4 * MiB;
      rig.engine.setWriteCap(capBytesPerSec);
      const started = performance.now();
      for (let i = 0; i < 8; i++) assert.equal(await rig.write(i, pattern(i)), 0);
      const seconds = (performance.now() - started) / 1000;
      // The first MiB is the burst; the other 7 MiB wait for tokens.
      assert.ok(seconds >= 0.9 * 7 * MiB / capBytesPerSec, `8 MiB written in ${seconds} s`);
      const { totals, writeCapBytesPerSec } = await rig.engine.snapshot();
      assert.equal(writeCapBytesPerSec, capBytesPerSec);
      assert.ok(totals.writeCapWaitMs > 0);
      rig.engine.setWriteCap(0);
      assert.equal((await rig.engine.snapshot()).writeCapBytesPerSec, 0, "cap removed live");
    }),
);

systemTest(
  "swap engine: sequential reads are answered from its read-ahead, never older than a write",
  REMOTE_SWAP_PREREQS,
  () =>
    withEngine({ budgetMs: 10_000, retryEveryMs: 500 }, async (rig) => {
      const data = pattern(5);
      assert.equal(await rig.write(0, data), 0);
      // 32 KiB reads in order, like swap-in windows: the engine fetches what follows.
      assertBytes(await rig.readBlocks(32, 0, 4), data.subarray(0, 128 << 10), "first reads");
      const before = await rig.engine.snapshot();
      assertBytes(
        await rig.readBlocks(32, 4, 4),
        data.subarray(128 << 10, 256 << 10),
        "reads from the read-ahead",
      );
      const after = await rig.engine.snapshot();
      assert.ok(
        (after.readahead?.hits ?? 0) > (before.readahead?.hits ?? 0),
        `read-ahead hits ${before.readahead?.hits} -> ${after.readahead?.hits}`,
      );
      // Overwrite pages the read-ahead holds (or is fetching), then read them again in order.
      const fresh = new Uint8Array(64 << 10).fill(0xa5);
      assert.equal(await rig.writeAt(288, fresh), 0);
      const expected = data.slice(256 << 10, 512 << 10);
      expected.set(fresh, (288 - 256) << 10);
      assertBytes(await rig.readBlocks(32, 8, 8), expected, "the written pages read back new");
    }),
);
