import assert from "node:assert/strict";
import { assertWaitsForWhole, parseAll } from "./_protocol_cases.ts";
import { ByteWriter } from "./byte_writer.ts";
import { ProtocolError } from "./kv_protocol.ts";
import { memcachedProtocol as mc } from "./memcached_protocol.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("memcached encodes get and set requests of the text protocol", () => {
  const out = new ByteWriter(4);
  mc.encodeGet(out, "k1");
  mc.encodeSet(out, "k2", bytes("abc"));
  assert.equal(text(out.bytes()), "get k1\r\nset k2 0 0 3\r\nabc\r\n");
});

Deno.test("memcached parses a pipelined batch of hit, miss and stored replies", () => {
  const batch = bytes("VALUE k1 0 3\r\nabc\r\nEND\r\nEND\r\nSTORED\r\n");
  const kinds = parseAll(mc, batch).map((r) => r.kind);
  assert.deepEqual(kinds, ["hit", "miss", "stored"]);
});

Deno.test("memcached waits for the whole value, whatever the split", () => {
  const whole = bytes("VALUE k1 0 5\r\nhello\r\nEND\r\n");
  assertWaitsForWhole(mc, whole);
});

Deno.test("memcached value bytes may contain CRLF and END", () => {
  const whole = bytes("VALUE k 0 7\r\nEND\r\n\r\n\r\nEND\r\n");
  assert.deepEqual(mc.parse(whole, 0), { reply: { kind: "hit" }, next: whole.length });
});

Deno.test("memcached server errors are replies, garbage is a protocol error", () => {
  const oom = bytes("SERVER_ERROR out of memory storing object\r\n");
  assert.deepEqual(mc.parse(oom, 0)?.reply, {
    kind: "error",
    message: "SERVER_ERROR out of memory storing object",
  });
  assert.throws(() => mc.parse(bytes("HELLO\r\n"), 0), ProtocolError);
  assert.throws(() => mc.parse(bytes("VALUE k 0 x\r\n"), 0), /Bad memcached VALUE line/);
});
