/**
 * `HOST:PORT` listen addresses (`--metrics-listen`): an IPv4 address or host name, or an IPv6
 * address in brackets, and a port from 0 (any free port) to 65535. Pure.
 * @module
 */

/** Where to listen. */
export interface ListenAddress {
  hostname: string;
  port: number;
}

const EXAMPLES = "e.g. 127.0.0.1:9464, localhost:0 or [::1]:9464";

/**
 * Parses `HOST:PORT`; a RangeError says what is wrong, naming `what` (the flag).
 * @example parseListenAddress("[::1]:9464") // { hostname: "::1", port: 9464 }
 */
export function parseListenAddress(text: string, what = "--metrics-listen"): ListenAddress {
  const fail = (why: string) =>
    new RangeError(`${what}: ${why} in "${text}" (expected HOST:PORT, ${EXAMPLES})`);
  const match = text.match(/^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):([^:]*)$/);
  if (match === null) {
    throw fail(text.includes(":") ? "not a host and port" : "no port");
  }
  const hostname = match[1] ?? match[2] ?? "";
  const portText = match[3] ?? "";
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw fail(`the port must be a whole number from 0 to 65535, got "${portText}"`);
  }
  return { hostname, port: Number(portText) };
}

/** `host:port`, bracketing IPv6 addresses. */
export function formatListenAddress(address: ListenAddress): string {
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return `${host}:${address.port}`;
}
