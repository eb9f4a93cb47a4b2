import assert from "node:assert/strict";
import { formatListenAddress, parseListenAddress } from "./listen_address.ts";

Deno.test("parseListenAddress reads IPv4, host names and bracketed IPv6 with a port", () => {
  assert.deepEqual(parseListenAddress("127.0.0.1:9464"), { hostname: "127.0.0.1", port: 9464 });
  assert.deepEqual(parseListenAddress("localhost:0"), { hostname: "localhost", port: 0 });
  assert.deepEqual(parseListenAddress("[::1]:65535"), { hostname: "::1", port: 65535 });
  assert.deepEqual(parseListenAddress("0.0.0.0:80"), { hostname: "0.0.0.0", port: 80 });
});

Deno.test("parseListenAddress refuses bad addresses with a message naming the flag", () => {
  for (
    const [text, why] of [
      [
        "9464",
        /--metrics-listen: no port in "9464" \(expected HOST:PORT, e\.g\. 127\.0\.0\.1:9464/,
      ],
      ["::1:9464", /not a host and port/],
      [":9464", /not a host and port/],
      ["host:", /port must be a whole number from 0 to 65535, got ""/],
      ["host:65536", /got "65536"/],
      ["host:-1", /got "-1"/],
      ["host:80x", /got "80x"/],
      ["my host:80", /not a host and port/],
      ["", /no port/],
    ] as const
  ) {
    assert.throws(() => parseListenAddress(text), why, text);
  }
  assert.throws(() => parseListenAddress("x", "--listen"), /^RangeError: --listen: /);
});

Deno.test("formatListenAddress brackets IPv6", () => {
  assert.equal(formatListenAddress({ hostname: "::1", port: 1 }), "[::1]:1");
  assert.equal(formatListenAddress({ hostname: "127.0.0.1", port: 2 }), "127.0.0.1:2");
});
