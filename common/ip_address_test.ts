import assert from "node:assert/strict";
import {
  cidrContains,
  findCidr,
  formatIpAddress,
  parseCidr,
  parseIpAddress,
  unmapIpv4,
} from "./ip_address.ts";

function ip(text: string) {
  const address = parseIpAddress(text);
  if (address === undefined) throw new Error(`test address ${text} does not parse`);
  return address;
}

Deno.test("parseIpAddress reads IPv4 and compressed or bracketed IPv6 literals", () => {
  assert.deepEqual(ip("10.1.2.3"), { family: 4, bytes: Uint8Array.from([10, 1, 2, 3]) });
  const v6 = ip("[fe80::1:2]");
  assert.equal(v6.family, 6);
  assert.deepEqual([...v6.bytes], [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]);
});

Deno.test("parseIpAddress refuses host names and malformed literals", () => {
  for (const bad of ["memnode1", "1.2.3.256", "1.2.3", "1::2::3", "1:2:3:4:5:6:7:8:9", ""]) {
    assert.equal(parseIpAddress(bad), undefined, bad);
  }
});

Deno.test("formatIpAddress compresses the longest run of zero groups", () => {
  assert.equal(formatIpAddress(ip("fd00:0:0:0:0:0:0:5")), "fd00::5");
  assert.equal(formatIpAddress(ip("1:0:0:2:0:0:0:3")), "1:0:0:2::3");
  assert.equal(formatIpAddress(ip("::")), "::");
  assert.equal(formatIpAddress(ip("192.168.0.9")), "192.168.0.9");
});

Deno.test("unmapIpv4 turns ::ffff:a.b.c.d into the IPv4 address", () => {
  assert.equal(formatIpAddress(unmapIpv4(ip("::ffff:a00:1"))), "10.0.0.1");
  assert.equal(formatIpAddress(unmapIpv4(ip("::a00:1"))), "::a00:1");
});

Deno.test("parseCidr accepts IPv4 and IPv6 blocks and single addresses", () => {
  assert.equal(parseCidr("10.0.0.0/8").text, "10.0.0.0/8");
  assert.equal(parseCidr("fd00:0::/64").text, "fd00::/64");
  assert.equal(parseCidr("192.168.1.7").text, "192.168.1.7/32");
  assert.equal(parseCidr("::1").text, "::1/128");
  assert.equal(parseCidr("0.0.0.0/0").prefixBits, 0);
});

Deno.test("parseCidr names what is wrong with a block", () => {
  assert.throws(() => parseCidr("10.0.0.0/33"), /prefix length must be 0 to 32 for IPv4/);
  assert.throws(() => parseCidr("fd00::/129"), /0 to 128 for IPv6/);
  assert.throws(() => parseCidr("10.0.0.1/8"), /bits after the \/8 prefix are set.*10\.0\.0\.0\/8/);
  assert.throws(() => parseCidr("rack1/24"), /is not a CIDR block/);
  assert.throws(() => parseCidr("10.0.0.0/8/1"), /is not a CIDR block/);
  assert.throws(() => parseCidr("10.0.0.0/x"), /prefix length/);
});

Deno.test("cidrContains matches addresses inside the prefix only", () => {
  const block = parseCidr("10.20.0.0/15");
  assert.ok(cidrContains(block, ip("10.20.0.1")));
  assert.ok(cidrContains(block, ip("10.21.255.255")));
  assert.ok(!cidrContains(block, ip("10.22.0.0")));
  assert.ok(!cidrContains(block, ip("10.19.255.255")));
  assert.ok(cidrContains(parseCidr("0.0.0.0/0"), ip("203.0.113.9")));
  const v6 = parseCidr("fd00:1::/32");
  assert.ok(cidrContains(v6, ip("fd00:1:ffff::1")));
  assert.ok(!cidrContains(v6, ip("fd00:2::1")));
});

Deno.test("cidrContains keeps families apart but matches IPv4-mapped IPv6 peers", () => {
  assert.ok(!cidrContains(parseCidr("::/0"), ip("10.0.0.1")));
  assert.ok(!cidrContains(parseCidr("0.0.0.0/0"), ip("fd00::1")));
  assert.ok(cidrContains(parseCidr("10.0.0.0/8"), ip("::ffff:a00:1")));
});

Deno.test("findCidr returns the first block holding the address", () => {
  const blocks = [parseCidr("10.0.0.0/24"), parseCidr("fd00::/8"), parseCidr("10.0.0.5")];
  assert.equal(findCidr(blocks, ip("10.0.0.5"))?.text, "10.0.0.0/24");
  assert.equal(findCidr(blocks, ip("fdff::1"))?.text, "fd00::/8");
  assert.equal(findCidr(blocks, ip("10.0.1.5")), undefined);
  assert.equal(findCidr([], ip("10.0.0.5")), undefined);
});
