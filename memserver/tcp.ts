/**
 * The memory server's TCP transport: accepts connections, splits the byte stream into frames
 * with a fixed per-connection buffer, and sends the replies a Session produces. Memory per
 * connection is constant (never sized by a length field from the wire).
 * @module
 */
import {
  FLAG_RESPONSE,
  type FrameHeader,
  HEADER_BYTES,
  MAX_BODY_BYTES,
  readHeader,
  writeHeader,
} from "./protocol.ts";
import type { MemoryServer, Reply, Session } from "./server.ts";

/** Bytes of the staging buffer replies are packed into before a write. */
const TX_BYTES = 256 * 1024;
/** Replies with bodies at least this large are written straight from region memory. */
const DIRECT_WRITE_BYTES = 64 * 1024;

/** Options of {@linkcode serveTcp}. */
export interface TcpServeOptions {
  hostname: string;
  port: number;
  /** Connections beyond this many are closed at once (default 128). */
  maxConnections?: number;
  /** Called for unexpected per-connection errors (defaults to a line on stderr). */
  onError?: (error: unknown) => void;
}

/** A running TCP listener. */
export interface TcpServerHandle {
  readonly addr: Deno.NetAddr;
  /** Resolves when the listener and every connection are closed. */
  readonly finished: Promise<void>;
  /** Stops accepting, closes every connection (their regions are freed) and waits. */
  close(): Promise<void>;
}

/** Starts serving `server` on TCP. */
export function serveTcp(server: MemoryServer, options: TcpServeOptions): TcpServerHandle {
  const listener = Deno.listen({
    hostname: options.hostname,
    port: options.port,
    transport: "tcp",
  });
  const maxConnections = options.maxConnections ?? 128;
  const onError = options.onError ??
    ((error: unknown) => console.error(`memserver: connection error: ${String(error)}`));
  const connections = new Set<Deno.TcpConn>();
  // Connection buffers are reused, so the memory beyond the pool is bounded by maxConnections
  // buffer pairs and never waits for the garbage collector.
  const spare: ConnectionBuffers[] = [];
  const handlers = new Set<Promise<void>>();
  let closing = false;

  const acceptLoop = (async () => {
    while (!closing) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (closing || error instanceof Deno.errors.BadResource) break;
        onError(error);
        continue;
      }
      if (closing || connections.size >= maxConnections) {
        conn.close();
        continue;
      }
      connections.add(conn);
      const buffers = spare.pop() ?? newBuffers();
      const handler = serveConnection(server, conn, buffers)
        .catch((error) => {
          if (!closing) onError(error);
        })
        .finally(() => {
          spare.push(buffers);
          connections.delete(conn);
          handlers.delete(handler);
        });
      handlers.add(handler);
    }
  })();

  const finished = (async () => {
    await acceptLoop;
    while (handlers.size > 0) await Promise.all([...handlers]);
  })();

  return {
    addr: listener.addr,
    finished,
    async close() {
      if (!closing) {
        closing = true;
        listener.close();
        for (const conn of connections) closeQuietly(conn);
      }
      await finished;
    },
  };
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource || error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.ConnectionAborted;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** The fixed receive and send buffers of one connection. */
interface ConnectionBuffers {
  rx: Uint8Array;
  tx: Uint8Array;
}

function newBuffers(): ConnectionBuffers {
  return { rx: new Uint8Array(HEADER_BYTES + MAX_BODY_BYTES), tx: new Uint8Array(TX_BYTES) };
}

/** Serves one connection until it closes; frees the session's regions at the end. */
async function serveConnection(
  server: MemoryServer,
  conn: Deno.TcpConn,
  buffers: ConnectionBuffers,
): Promise<void> {
  conn.setNoDelay(true);
  const remote = conn.remoteAddr;
  const session = server.openSession(`${remote.hostname}:${remote.port}`);
  try {
    await pump(session, conn, buffers);
  } catch (error) {
    if (!isDisconnect(error)) throw error;
  } finally {
    server.closeSession(session);
    closeQuietly(conn);
  }
}

async function pump(
  session: Session,
  conn: Deno.TcpConn,
  buffers: ConnectionBuffers,
): Promise<void> {
  const { rx, tx } = buffers;
  const rxView = new DataView(rx.buffer);
  const txView = new DataView(tx.buffer);
  let txLength = 0;
  let start = 0;
  let end = 0;

  const flush = async () => {
    if (txLength === 0) return;
    const length = txLength;
    txLength = 0;
    await writeAll(conn, tx.subarray(0, length));
  };

  const send = async (header: FrameHeader, result: Reply): Promise<void> => {
    const fields: FrameHeader = {
      bodyBytes: result.bodyBytes,
      op: header.op,
      flags: FLAG_RESPONSE,
      status: result.status,
      requestId: header.requestId,
      regionId: result.regionId,
      offset: result.offset,
    };
    if (HEADER_BYTES + result.bodyBytes > TX_BYTES - txLength) await flush();
    writeHeader(txView, txLength, fields);
    txLength += HEADER_BYTES;
    if (result.bodyBytes >= DIRECT_WRITE_BYTES && result.body.length === 1) {
      // Large single body: send straight from region memory, before any later frame runs.
      await flush();
      const part = result.body[0];
      if (part !== undefined) await writeAll(conn, part);
      return;
    }
    for (const part of result.body) {
      if (part.length > TX_BYTES - txLength) {
        await flush();
        if (part.length > TX_BYTES) {
          await writeAll(conn, part);
          continue;
        }
      }
      tx.set(part, txLength);
      txLength += part.length;
    }
  };

  while (true) {
    while (end - start >= HEADER_BYTES) {
      const header = readHeader(rxView, start);
      if (header.bodyBytes > MAX_BODY_BYTES) {
        await send(header, session.oversized(header));
        await flush();
        return;
      }
      const frameBytes = HEADER_BYTES + header.bodyBytes;
      if (end - start < frameBytes) break;
      const body = rx.subarray(start + HEADER_BYTES, start + frameBytes);
      const result = session.handle(header, body);
      start += frameBytes;
      await send(header, result);
      if (result.close) {
        await flush();
        return;
      }
    }
    await flush();
    if (start === end) {
      start = 0;
      end = 0;
    } else if (start > 0) {
      const pending = end - start >= HEADER_BYTES
        ? HEADER_BYTES + readHeader(rxView, start).bodyBytes
        : HEADER_BYTES;
      if (start + pending > rx.length || rx.length - end < 16 * 1024) {
        rx.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
    }
    const n = await conn.read(rx.subarray(end));
    if (n === null) return;
    end += n;
  }
}
