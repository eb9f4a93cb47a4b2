import assert from "node:assert/strict";
import {
  batchMetaBytes,
  encodeDiscardRequest,
  encodeFrame,
  encodeHelloRequest,
  encodeHelloResponse,
  encodeSwapOpenResponse,
  HEADER_BYTES,
  MAX_BATCH_PAGES,
  Op,
  parseBatchHeader,
  parseDiscardRequest,
  parseHelloRequest,
  parseHelloResponse,
  parseReadRequest,
  parseSwapOpenRequest,
  parseSwapOpenResponse,
  readHeader,
  Status,
  SWAP_KEY_MAX_BYTES,
  SWAP_KEY_MIN_BYTES,
  writeBatchHeader,
} from "./protocol.ts";

Deno.test("protocol header round-trips every field including 52-bit offsets", () => {
  const header = {
    op: Op.READV,
    flags: 1,
    status: Status.OUT_OF_BOUNDS,
    requestId: 0xfedc_ba98,
    regionId: 77,
    offset: 2 ** 52 + 12345,
  };
  const frame = encodeFrame(header, new Uint8Array([1, 2, 3]));
  assert.equal(frame.length, HEADER_BYTES + 3);
  const decoded = readHeader(new DataView(frame.buffer), 0);
  assert.deepEqual(decoded, { ...header, bodyBytes: 3 });
});

Deno.test("protocol header maps offsets beyond 2^53 to Infinity", () => {
  const frame = new Uint8Array(HEADER_BYTES);
  new DataView(frame.buffer).setUint32(20, 0xffff_ffff, true);
  assert.equal(readHeader(new DataView(frame.buffer), 0).offset, Number.POSITIVE_INFINITY);
});

Deno.test("protocol HELLO request and response round-trip", () => {
  const token = new TextEncoder().encode("secret");
  const parsed = parseHelloRequest(encodeHelloRequest({ minVersion: 1, maxVersion: 3, token }));
  assert.ok(parsed.ok);
  assert.equal(parsed.value.minVersion, 1);
  assert.equal(parsed.value.maxVersion, 3);
  assert.deepEqual([...parsed.value.token], [...token]);
  const hello = { version: 1, clientId: 9, maxBodyBytes: 1 << 20, capacityBytes: 2 ** 40 };
  const reply = parseHelloResponse(encodeHelloResponse(hello));
  assert.ok(reply.ok);
  assert.deepEqual(reply.value, hello);
});

Deno.test("protocol HELLO parser rejects bad magic and mismatched token length", () => {
  const body = encodeHelloRequest({ minVersion: 1, maxVersion: 1, token: new Uint8Array(4) });
  assert.equal(parseHelloRequest(body.subarray(0, body.length - 1)).ok, false);
  const bad = body.slice();
  bad[0] = 0;
  assert.equal(parseHelloRequest(bad).ok, false);
});

Deno.test("protocol batch header round-trips and checks sizes", () => {
  const offsets = [0, 4096, 2 ** 40];
  const meta = new Uint8Array(batchMetaBytes(offsets.length) + 3 * 4096);
  writeBatchHeader(meta, { pageBytes: 4096, offsets });
  const parsed = parseBatchHeader(meta, true);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, { pageBytes: 4096, offsets });
  assert.equal(parseBatchHeader(meta, false).ok, false, "READV must not carry data");
  const tooMany = new Uint8Array(8);
  new DataView(tooMany.buffer).setUint32(4, MAX_BATCH_PAGES + 1, true);
  assert.equal(parseBatchHeader(tooMany, false).ok, false);
});

Deno.test("protocol READ parser rejects lengths above the body limit", () => {
  const body = new Uint8Array(4);
  new DataView(body.buffer).setUint32(0, 0xffff_ffff, true);
  const parsed = parseReadRequest(body);
  assert.equal(parsed.ok, false);
  assert.equal(parsed.ok ? 0 : parsed.status, Status.TOO_LARGE);
});

Deno.test("protocol parsers never throw on random bodies", () => {
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < 5000; i++) {
    const body = new Uint8Array(next() % 64);
    for (let j = 0; j < body.length; j++) body[j] = next() & 0xff;
    if (body.length >= 8 && i % 2 === 0) new DataView(body.buffer).setUint32(4, next() % 4, true);
    parseHelloRequest(body);
    parseHelloResponse(body);
    parseReadRequest(body);
    parseBatchHeader(body, i % 3 === 0);
    parseSwapOpenRequest(body);
    parseSwapOpenResponse(body);
    parseDiscardRequest(body);
  }
});

Deno.test("protocol SWAP_OPEN response and DISCARD request round-trip 52-bit values", () => {
  for (
    const response of [{ storedBytes: 0, reattached: false }, {
      storedBytes: 2 ** 52 + 4096,
      reattached: true,
    }]
  ) {
    const parsed = parseSwapOpenResponse(encodeSwapOpenResponse(response));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value, response);
  }
  const discard = parseDiscardRequest(encodeDiscardRequest(2 ** 45 + 8192));
  assert.ok(discard.ok);
  assert.equal(discard.value, 2 ** 45 + 8192);
});

Deno.test("protocol SWAP_OPEN parser accepts keys of 16..64 bytes only", () => {
  assert.ok(parseSwapOpenRequest(new Uint8Array(SWAP_KEY_MIN_BYTES)).ok);
  assert.ok(parseSwapOpenRequest(new Uint8Array(SWAP_KEY_MAX_BYTES)).ok);
  for (const bytes of [0, SWAP_KEY_MIN_BYTES - 1, SWAP_KEY_MAX_BYTES + 1]) {
    const parsed = parseSwapOpenRequest(new Uint8Array(bytes));
    assert.equal(parsed.ok, false);
    assert.equal(parsed.ok ? 0 : parsed.status, Status.BAD_FRAME);
  }
});
