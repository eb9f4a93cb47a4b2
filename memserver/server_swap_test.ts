import assert from "node:assert/strict";
import { MemoryPool } from "./pool.ts";
import {
  encodeDiscardRequest,
  encodeHelloRequest,
  encodeReadRequest,
  type FrameHeader,
  Op,
  parseSwapOpenResponse,
  Status,
} from "./protocol.ts";
import { MemoryServer, type Reply, type Session } from "./server.ts";

const MiB = 1 << 20;
const KEY = new TextEncoder().encode("a-swap-region-key-0123456789abcd");

function header(op: number, fields: Partial<FrameHeader> = {}): FrameHeader {
  return { bodyBytes: 0, op, flags: 0, status: 0, requestId: 1, regionId: 0, offset: 0, ...fields };
}

function connect(server: MemoryServer, maxVersion = 2): Session {
  const session = server.openSession("test");
  const hello = encodeHelloRequest({ minVersion: 1, maxVersion, token: new Uint8Array(0) });
  assert.equal(session.handle(header(Op.HELLO), hello).status, Status.OK);
  return session;
}

function body(reply: Reply): Uint8Array {
  const out = new Uint8Array(reply.bodyBytes);
  let at = 0;
  for (const part of reply.body) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function open(session: Session, sizeBytes: number, key = KEY) {
  const reply = session.handle(header(Op.SWAP_OPEN, { offset: sizeBytes }), key);
  assert.equal(reply.status, Status.OK, new TextDecoder().decode(body(reply)));
  const parsed = parseSwapOpenResponse(body(reply));
  assert.ok(parsed.ok);
  return { regionId: reply.regionId, ...parsed.value };
}

function serverWith(capacityBytes: number, nowMs = () => 0) {
  const pool = MemoryPool.onHeap(capacityBytes);
  return { pool, server: new MemoryServer(pool, { nowMs, swapGraceMs: 1000 }) };
}

Deno.test("memory server swap region: writes are stored, other pages read as zeros", () => {
  const { server } = serverWith(4 * MiB);
  const session = connect(server);
  const { regionId, reattached } = open(session, 1 << 30);
  assert.equal(reattached, false);
  const data = new Uint8Array(8192).fill(7);
  assert.equal(
    session.handle(header(Op.WRITE, { regionId, offset: 1 << 20 }), data).status,
    Status.OK,
  );
  const read = session.handle(
    header(Op.READ, { regionId, offset: (1 << 20) - 4096 }),
    encodeReadRequest(3 * 4096),
  );
  assert.equal(read.status, Status.OK);
  const back = body(read);
  assert.deepEqual(back.subarray(0, 4096), new Uint8Array(4096));
  assert.deepEqual(back.subarray(4096), data);
});

Deno.test("memory server swap region: another connection with the key re-attaches it", () => {
  const { server } = serverWith(4 * MiB);
  const first = connect(server);
  const { regionId } = open(first, 16 * MiB);
  first.handle(header(Op.WRITE, { regionId, offset: 0 }), new Uint8Array(4096).fill(3));
  server.closeSession(first);
  const again = connect(server);
  const reopened = open(again, 16 * MiB);
  assert.deepEqual(reopened, { regionId, storedBytes: 4096, reattached: true });
  const read = again.handle(header(Op.READ, { regionId, offset: 0 }), encodeReadRequest(4096));
  assert.deepEqual(body(read), new Uint8Array(4096).fill(3));
  const other = connect(server);
  const wrongSize = other.handle(header(Op.SWAP_OPEN, { offset: 8 * MiB }), KEY);
  assert.equal(wrongSize.status, Status.BAD_FRAME, "same key, different size");
  const noAccess = other.handle(header(Op.READ, { regionId, offset: 0 }), encodeReadRequest(4096));
  assert.equal(noAccess.status, Status.NO_SUCH_REGION, "without the key no access");
});

Deno.test("memory server swap region: a detached region is freed after the grace period", () => {
  let now = 0;
  const { server, pool } = serverWith(4 * MiB, () => now);
  const session = connect(server);
  const { regionId } = open(session, 16 * MiB);
  session.handle(header(Op.WRITE, { regionId, offset: 0 }), new Uint8Array(4096));
  server.closeSession(session);
  now = 999;
  assert.deepEqual(server.sweepSwap(), []);
  assert.equal(server.stats().swap.regions[0]?.detachedAtMs, 0);
  now = 1000;
  assert.deepEqual(server.sweepSwap(), [regionId]);
  assert.equal(pool.allocatedBytes, 0, "its slab went back to the pool");
  const fresh = open(connect(server), 16 * MiB);
  assert.equal(fresh.reattached, false, "the key now names a new, empty region");
});

Deno.test("memory server swap region: STATS shows stored bytes per region and per client", () => {
  const { server } = serverWith(4 * MiB);
  const session = connect(server);
  const { regionId } = open(session, 16 * MiB);
  session.handle(header(Op.WRITE, { regionId, offset: 4096 }), new Uint8Array(3 * 4096));
  const stats = server.stats();
  assert.equal(stats.swap.storedBytes, 3 * 4096);
  assert.equal(stats.swap.slabBytes, MiB);
  assert.deepEqual(stats.swap.regions.map((r) => [r.regionId, r.storedBytes, r.clients.length]), [
    [regionId, 3 * 4096, 1],
  ]);
  assert.equal(stats.clients[0]?.swapStoredBytes, 3 * 4096);
  assert.equal(stats.clients[0]?.swapRegions, 1);
  assert.equal(stats.pool.allocatedBytes, MiB);
});

Deno.test("memory server swap region: DISCARD and FREE give the pages back", () => {
  const { server, pool } = serverWith(4 * MiB);
  const session = connect(server);
  const { regionId } = open(session, 16 * MiB);
  session.handle(header(Op.WRITE, { regionId, offset: 0 }), new Uint8Array(8 * 4096).fill(1));
  const discard = session.handle(
    header(Op.DISCARD, { regionId, offset: 4096 }),
    encodeDiscardRequest(6 * 4096),
  );
  assert.equal(discard.status, Status.OK);
  assert.equal(server.stats().swap.storedBytes, 2 * 4096);
  assert.equal(session.handle(header(Op.FREE, { regionId }), new Uint8Array(0)).status, Status.OK);
  assert.equal(server.stats().swap.regions.length, 0);
  assert.equal(pool.allocatedBytes, 0);
});

Deno.test("memory server swap region: a full pool answers NO_SPACE and unaligned I/O OUT_OF_BOUNDS", () => {
  const { server } = serverWith(MiB);
  const session = connect(server);
  const { regionId } = open(session, 64 * MiB);
  const fill = session.handle(header(Op.WRITE, { regionId, offset: 0 }), new Uint8Array(MiB));
  assert.equal(fill.status, Status.OK);
  const full = session.handle(header(Op.WRITE, { regionId, offset: MiB }), new Uint8Array(4096));
  assert.equal(full.status, Status.NO_SPACE);
  const unaligned = session.handle(
    header(Op.READ, { regionId, offset: 100 }),
    encodeReadRequest(4096),
  );
  assert.equal(unaligned.status, Status.OUT_OF_BOUNDS);
});

Deno.test("memory server refuses swap operations on a connection that negotiated version 1", () => {
  const { server } = serverWith(MiB);
  const session = connect(server, 1);
  const reply = session.handle(header(Op.SWAP_OPEN, { offset: MiB }), KEY);
  assert.equal(reply.status, Status.UNKNOWN_OP);
});
