/**
 * Fuzz test of `spirit memserver`: random and mutated frames over many connections. The server
 * must stay up, keep its memory bounded, and serve a valid client afterwards.
 */
import assert from "node:assert/strict";
import { connectTcp } from "../memserver/client/tcp_transport.ts";
import {
  batchMetaBytes,
  encodeDiscardRequest,
  encodeFrame,
  encodeHelloRequest,
  encodeReadRequest,
  Op,
  PROTOCOL_VERSION_MAX,
  writeBatchHeader,
} from "../memserver/protocol.ts";
import { makeTokenFile, residentBytes, startMemserver } from "./memserver_fixture.ts";

/** The id the server gives the first swap region. */
const SWAP_REGION = 0x4000_0000;

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
}

/** Valid frames of every operation (after a valid HELLO), to be mutated. */
function validFrames(token: Uint8Array): Uint8Array[] {
  const hello = encodeFrame(
    { op: Op.HELLO, flags: 0, status: 0, requestId: 1, regionId: 0, offset: 0 },
    encodeHelloRequest({ minVersion: 1, maxVersion: PROTOCOL_VERSION_MAX, token }),
  );
  const meta = new Uint8Array(batchMetaBytes(2));
  writeBatchHeader(meta, { pageBytes: 4096, offsets: [0, 4096] });
  const withData = new Uint8Array(meta.length + 8192);
  withData.set(meta);
  const frame = (op: number, regionId: number, offset: number, body?: Uint8Array) =>
    encodeFrame({ op, flags: 0, status: 0, requestId: 2, regionId, offset }, body);
  return [
    hello,
    frame(Op.ALLOC, 0, 65536),
    frame(Op.READ, 1, 0, encodeReadRequest(4096)),
    frame(Op.WRITE, 1, 4096, new Uint8Array(4096)),
    frame(Op.READV, 1, 0, meta),
    frame(Op.WRITEV, 1, 0, withData),
    frame(Op.STATS, 0, 0),
    frame(Op.PING, 0, 0, new Uint8Array(16)),
    frame(Op.FREE, 1, 0),
    // Version 2: a sparse swap region (ids start at 0x4000_0000) and discards.
    frame(Op.SWAP_OPEN, 0, 1 << 20, new Uint8Array(32).fill(7)),
    frame(Op.WRITE, SWAP_REGION, 8192, new Uint8Array(8192)),
    frame(Op.READ, SWAP_REGION, 4096, encodeReadRequest(8192)),
    frame(Op.WRITEV, SWAP_REGION, 0, withData),
    frame(Op.READV, SWAP_REGION, 0, meta),
    frame(Op.DISCARD, SWAP_REGION, 0, encodeDiscardRequest(8192)),
    frame(Op.DISCARD, 1, 0, encodeDiscardRequest(4096)),
    frame(Op.FREE, SWAP_REGION, 0),
  ];
}

function mutate(frame: Uint8Array, next: () => number): Uint8Array {
  const copy = frame.slice();
  switch (next() % 5) {
    case 0: // flip bytes anywhere
      for (let i = 0; i < 1 + (next() % 4); i++) copy[next() % copy.length] = next() & 0xff;
      return copy;
    case 1: // flip header bytes only
      copy[next() % 24] = next() & 0xff;
      return copy;
    case 2: // truncate
      return copy.subarray(0, next() % copy.length);
    case 3: { // absurd body length
      new DataView(copy.buffer).setUint32(0, next() | 0x8000_0000, true);
      return copy;
    }
    default: { // huge offset or region
      const view = new DataView(copy.buffer);
      view.setUint32(12, next(), true);
      view.setUint32(16, next(), true);
      view.setUint32(20, next(), true);
      return copy;
    }
  }
}

async function sendAndDrain(port: number, chunks: Uint8Array[]): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const drain = (async () => {
    const buffer = new Uint8Array(65536);
    try {
      while ((await conn.read(buffer)) !== null) { /* discard replies */ }
    } catch (error) {
      if (
        !(error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BadResource)
      ) throw error;
    }
  })();
  try {
    for (const chunk of chunks) {
      let at = 0;
      while (at < chunk.length) at += await conn.write(chunk.subarray(at));
    }
  } catch (error) {
    const expected = error instanceof Deno.errors.BrokenPipe ||
      error instanceof Deno.errors.ConnectionReset;
    if (!expected) throw error;
  }
  conn.closeWrite().catch(() => {/* the server may have closed first */});
  await drain;
  conn.close();
}

Deno.test("memserver survives random and mutated frames with bounded memory", async () => {
  const secret = await makeTokenFile();
  const server = await startMemserver({ tokenFile: secret.path, capacity: "16MiB" });
  try {
    const next = random(20261123);
    const frames = validFrames(secret.token);
    const [hello] = frames;
    assert.ok(hello !== undefined);
    // Warm up one connection so the baseline includes the runtime's steady state.
    await sendAndDrain(server.port, frames);
    const before = await residentBytes(server.pid);
    for (let round = 0; round < 150; round++) {
      const connections = Array.from({ length: 6 }, (_, c) => {
        const chunks: Uint8Array[] = [];
        if ((round + c) % 3 === 0) {
          // Pure noise, with or without a valid HELLO first.
          if (c % 2 === 0) chunks.push(hello);
          const noise = new Uint8Array(next() % 4096);
          for (let i = 0; i < noise.length; i++) noise[i] = next() & 0xff;
          chunks.push(noise);
        } else {
          chunks.push(next() % 4 === 0 ? mutate(hello, next) : hello);
          for (let i = 0; i < 12; i++) {
            const frame = frames[next() % frames.length] ?? hello;
            chunks.push(next() % 2 === 0 ? mutate(frame, next) : frame);
          }
        }
        return sendAndDrain(server.port, chunks);
      });
      await Promise.all(connections);
    }
    const after = await residentBytes(server.pid);
    assert.ok(after - before < 64 << 20, `memory grew from ${before} to ${after} bytes`);

    const client = await connectTcp({
      hostname: server.hostname,
      port: server.port,
      token: secret.token,
    });
    try {
      const region = await client.allocate(1 << 20);
      await client.write(region, 0, new Uint8Array(4096).fill(5));
      const page = new Uint8Array(4096);
      await client.read(region, 0, page);
      assert.equal(page[4095], 5);
      const stats = await client.serverStats() as {
        clients: unknown[];
        pool: { allocatedBytes: number };
        swap: { slabBytes: number; regions: { clients: number[] }[] };
      };
      assert.equal(stats.clients.length, 1, "every fuzzing connection was closed and freed");
      // Swap regions outlive their connections for the grace period, detached.
      assert.ok(stats.swap.regions.every((r) => r.clients.length === 0));
      assert.equal(stats.pool.allocatedBytes - stats.swap.slabBytes, 1 << 20);
    } finally {
      await client.close();
    }
  } finally {
    const { code } = await server.stop();
    await Deno.remove(secret.dir, { recursive: true });
    assert.equal(code, 0, "the server exits cleanly after the fuzzing");
  }
});
