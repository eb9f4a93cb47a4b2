import assert from "node:assert/strict";
import { assertWaitsForWhole, parseAll } from "./_protocol_cases.ts";
import { ByteWriter } from "./byte_writer.ts";
import { ProtocolError } from "./kv_protocol.ts";
import { redisProtocol as redis } from "./redis_protocol.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("redis encodes GET and SET as RESP arrays of bulk strings", () => {
  const out = new ByteWriter(4);
  redis.encodeGet(out, "k1");
  redis.encodeSet(out, "k2", bytes("abc"));
  assert.equal(
    text(out.bytes()),
    "*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$3\r\nabc\r\n",
  );
});

Deno.test("redis parses bulk, nil, OK and error replies", () => {
  const batch = bytes("$3\r\nabc\r\n$-1\r\n+OK\r\n-OOM command not allowed\r\n");
  assert.deepEqual(parseAll(redis, batch), [
    { kind: "hit" },
    { kind: "miss" },
    { kind: "stored" },
    { kind: "error", message: "OOM command not allowed" },
  ]);
});

Deno.test("redis waits for the whole bulk string, whatever the split", () => {
  const whole = bytes("$5\r\nhe\r\no\r\n");
  assertWaitsForWhole(redis, whole);
});

Deno.test("redis rejects replies it did not ask for", () => {
  assert.throws(() => redis.parse(bytes("*1\r\n"), 0), ProtocolError);
  assert.throws(() => redis.parse(bytes("$x\r\n"), 0), /Bad redis bulk length/);
});
