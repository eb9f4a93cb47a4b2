import assert from "node:assert/strict";
import {
  acceptProof,
  ReplayGuard,
  signConnectRecord,
  verifyAcceptProof,
  verifyConnectRecord,
} from "./rdma_auth.ts";
import { CONNECT_RECORD_BYTES, decodeConnectRequest } from "./rdma_private_data.ts";

const SECRET = new TextEncoder().encode("3f1c0a9e5b7d2468ace0");
const NOW = 1_700_000_000_000;

function sign(overrides: { port?: number; sizeBytes?: bigint; nonce?: number } = {}) {
  return signConnectRecord(SECRET, {
    port: overrides.port ?? 7471,
    sizeBytes: overrides.sizeBytes ?? 1n << 30n,
    timestampMs: BigInt(NOW),
    nonce: new Uint8Array(8).fill(overrides.nonce ?? 1),
  });
}

Deno.test("a signed connect record verifies with the same secret and port", () => {
  const record = sign();
  assert.equal(record.length, CONNECT_RECORD_BYTES);
  assert.ok(verifyConnectRecord(SECRET, 7471, record));
});

Deno.test("a connect record does not verify with another secret", () => {
  assert.ok(!verifyConnectRecord(new TextEncoder().encode("another secret"), 7471, sign()));
});

Deno.test("a connect record does not verify for another server port", () => {
  assert.ok(!verifyConnectRecord(SECRET, 7472, sign()));
});

Deno.test("a connect record whose size was changed after signing does not verify", () => {
  const record = sign();
  record[8] = (record[8] ?? 0) ^ 1;
  assert.ok(!verifyConnectRecord(SECRET, 7471, record));
  assert.ok(!verifyConnectRecord(SECRET, 7471, sign().subarray(0, 40)), "truncated");
});

Deno.test("the server's accept proof verifies only for the same exchange", () => {
  const connectRecord = sign();
  const regionBytes = new Uint8Array(20).fill(4);
  const presented = acceptProof(SECRET, connectRecord, regionBytes);
  assert.ok(verifyAcceptProof(SECRET, { connectRecord, regionBytes, presented }));
  const otherRegion = new Uint8Array(20).fill(5);
  assert.ok(!verifyAcceptProof(SECRET, { connectRecord, regionBytes: otherRegion, presented }));
  assert.ok(
    !verifyAcceptProof(SECRET, { connectRecord: sign({ nonce: 2 }), regionBytes, presented }),
  );
  assert.ok(
    !verifyAcceptProof(new Uint8Array(4), { connectRecord, regionBytes, presented }),
  );
});

Deno.test("a client's proof never passes as the server's (direction labels differ)", () => {
  const connectRecord = sign();
  const presented = connectRecord.slice(32, 48);
  assert.ok(
    !verifyAcceptProof(SECRET, { connectRecord, regionBytes: new Uint8Array(20), presented }),
  );
});

function fields(record: Uint8Array) {
  const decoded = decodeConnectRequest(record);
  if (decoded.kind !== "spirit") throw new Error("not a spirit record");
  return decoded.fields;
}

Deno.test("replay guard admits a fresh record once and refuses its replay", () => {
  const guard = new ReplayGuard();
  assert.deepEqual(guard.admit(fields(sign()), NOW + 5), { fresh: true });
  const replay = guard.admit(fields(sign()), NOW + 10);
  assert.equal(replay.fresh, false);
  if (!replay.fresh) assert.equal(replay.reason, "replayed");
  assert.deepEqual(guard.admit(fields(sign({ nonce: 2 })), NOW + 10), { fresh: true });
});

Deno.test("replay guard refuses records outside the clock window, either way", () => {
  const guard = new ReplayGuard({ windowMs: 30_000 });
  const late = guard.admit(fields(sign()), NOW + 30_001);
  assert.equal(late.fresh, false);
  if (!late.fresh) {
    assert.equal(late.reason, "stale");
    assert.match(late.detail, /30\.0 s behind the server clock \(allowed: 30 s\)/);
  }
  const early = guard.admit(fields(sign()), NOW - 45_000);
  assert.equal(early.fresh, false);
  if (!early.fresh) assert.match(early.detail, /45\.0 s ahead of the server clock/);
  assert.deepEqual(guard.admit(fields(sign()), NOW + 30_000), { fresh: true });
});

Deno.test("replay guard forgets a nonce once its record is stale anyway", () => {
  const guard = new ReplayGuard({ windowMs: 1000 });
  assert.deepEqual(guard.admit(fields(sign({ nonce: 1 })), NOW), { fresh: true });
  assert.equal(guard.size, 1);
  // Another record later: the first nonce is past its window and is dropped.
  const later = signConnectRecord(SECRET, {
    port: 7471,
    sizeBytes: 1n,
    timestampMs: BigInt(NOW + 5000),
    nonce: new Uint8Array(8).fill(3),
  });
  assert.deepEqual(guard.admit(fields(later), NOW + 5000), { fresh: true });
  assert.equal(guard.size, 1);
});

Deno.test("replay guard refuses new records when full instead of forgetting live nonces", () => {
  const guard = new ReplayGuard({ maxEntries: 2 });
  assert.ok(guard.admit(fields(sign({ nonce: 1 })), NOW).fresh);
  assert.ok(guard.admit(fields(sign({ nonce: 2 })), NOW).fresh);
  const third = guard.admit(fields(sign({ nonce: 3 })), NOW);
  assert.equal(third.fresh, false);
  if (!third.fresh) assert.equal(third.reason, "busy");
  assert.equal(guard.admit(fields(sign({ nonce: 1 })), NOW).fresh, false, "still remembered");
});
