/**
 * `HOST:PORT` addresses as the command line and the agent protocol write them. Pure.
 * @module
 */

/** Parses "host:port" (IPv6 as "[::1]:port") into a hostname and port. */
export function parseHostPort(text: string): { hostname: string; port: number } {
  const match = /^\[?(?<host>[^\]]*?)\]?:(?<port>[0-9]{1,5})$/.exec(text.trim());
  const hostname = match?.groups?.host;
  const port = Number(match?.groups?.port);
  if (hostname === undefined || hostname === "" || !(port >= 0 && port <= 65535)) {
    throw new RangeError(
      `Invalid address "${text}": expected HOST:PORT, for example 127.0.0.1:7070`,
    );
  }
  return { hostname, port };
}
