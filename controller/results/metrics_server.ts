/**
 * The HTTP endpoint of the live metrics: `GET /metrics` answers with the exposition text
 * (Prometheus text format 0.0.4); anything else is 404 (405 for other methods). Bound only to
 * the address given.
 * @module
 */
import { formatListenAddress, type ListenAddress } from "./listen_address.ts";
import { EXPOSITION_CONTENT_TYPE } from "./prometheus.ts";

/** A running metrics endpoint. */
export interface MetricsServer extends AsyncDisposable {
  /** The address actually bound (the real port when 0 was asked for). */
  readonly address: ListenAddress;
  /** `http://HOST:PORT/metrics`. */
  readonly url: string;
  /** Stops listening and waits for open requests; idempotent. */
  close(): Promise<void>;
}

/** Raised when the metrics endpoint cannot listen where it was told. */
export class MetricsListenError extends Error {
  override name = "MetricsListenError";
  constructor(readonly address: ListenAddress, options: { cause: unknown }) {
    super(
      `Cannot serve metrics on ${formatListenAddress(address)}: ${
        (options.cause as Error)?.message ?? String(options.cause)
      }`,
      options,
    );
  }
}

function handler(render: () => string) {
  return (request: Request): Response => {
    const path = new URL(request.url).pathname;
    if (path !== "/metrics") {
      return new Response("Not found: metrics are at /metrics\n", { status: 404 });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    return new Response(request.method === "HEAD" ? null : render(), {
      headers: { "content-type": EXPOSITION_CONTENT_TYPE, "cache-control": "no-store" },
    });
  };
}

/**
 * Serves `render()` at `http://address/metrics` until closed.
 * @example
 * const server = serveMetrics({ hostname: "127.0.0.1", port: 0 }, () => metrics.exposition());
 * console.error(`metrics: ${server.url}`);
 */
export function serveMetrics(address: ListenAddress, render: () => string): MetricsServer {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: address.hostname,
      port: address.port,
      onListen: () => {},
    }, handler(render));
  } catch (cause) {
    throw new MetricsListenError(address, { cause });
  }
  const bound = { hostname: server.addr.hostname, port: server.addr.port };
  let closing: Promise<void> | null = null;
  const close = () => closing ??= server.shutdown();
  return {
    address: bound,
    url: `http://${formatListenAddress(bound)}/metrics`,
    close,
    [Symbol.asyncDispose]: close,
  };
}
