import assert from "node:assert/strict";
import { encodeSockaddr } from "./socket.ts";

Deno.test("sockaddr encodes IPv4 and IPv6 literals with the port in network order", () => {
  const v4 = encodeSockaddr("10.1.2.3", 7070);
  assert.equal(v4.length, 16);
  assert.deepEqual([...v4.subarray(0, 8)], [2, 0, 0x1b, 0x9e, 10, 1, 2, 3]);
  const v6 = encodeSockaddr("fe80::1:2", 443);
  assert.equal(v6.length, 28);
  assert.deepEqual([...v6.subarray(0, 4)], [10, 0, 0x01, 0xbb]);
  assert.deepEqual([...v6.subarray(8, 24)], [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]);
  assert.throws(() => encodeSockaddr("localhost", 1), /IPv4 or IPv6 literal/);
  assert.throws(() => encodeSockaddr("300.1.1.1", 1), /Invalid IPv4 address/);
});
