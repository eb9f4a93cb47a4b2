import assert from "node:assert/strict";
import { formatIpAddress } from "../common/ip_address.ts";
import { decodeSocketAddress, socketAddress } from "./rdmacm.ts";

Deno.test("socketAddress encodes an IPv4 literal as sockaddr_in with the port in network order", () => {
  const bytes = socketAddress("10.1.2.3", 0x1234);
  assert.deepEqual([...bytes], [2, 0, 0x12, 0x34, 10, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0]);
});

Deno.test("socketAddress maps localhost to 127.0.0.1", () => {
  assert.deepEqual(socketAddress("localhost", 1), socketAddress("127.0.0.1", 1));
});

Deno.test("socketAddress encodes a compressed IPv6 literal as sockaddr_in6", () => {
  const bytes = socketAddress("[fe80::1:2]", 7471);
  assert.equal(bytes.length, 28);
  assert.deepEqual([...bytes.subarray(0, 4)], [10, 0, 0x1d, 0x2f]);
  assert.deepEqual(
    [...bytes.subarray(8, 24)],
    [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2],
  );
});

Deno.test("socketAddress rejects host names and bad ports with a clear message", () => {
  assert.throws(() => socketAddress("memnode1", 7471), /must be IPv4 or IPv6 literals/);
  assert.throws(() => socketAddress("1.2.3.256", 1), /invalid IPv4/);
  assert.throws(() => socketAddress("1.2.3.4", 70000), /port must be an integer/);
  assert.throws(() => socketAddress("1::2::3", 1), /literals/);
});

Deno.test("decodeSocketAddress reads back what socketAddress encoded, in both families", () => {
  for (const host of ["10.1.2.3", "fd00::7"]) {
    const decoded = decodeSocketAddress(socketAddress(host, 7471));
    assert.ok(decoded !== null);
    assert.equal(formatIpAddress(decoded), host);
  }
});

Deno.test("decodeSocketAddress returns null for an unset or non-IP address", () => {
  assert.equal(decodeSocketAddress(new Uint8Array(128)), null);
  const ib = new Uint8Array(128);
  ib[0] = 27; // AF_IB
  assert.equal(decodeSocketAddress(ib), null);
});
