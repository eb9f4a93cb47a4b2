/**
 * A connection (e.g. from `Connector.connectUnixSocket`) seen as a {@link RemoteProcess}, so the
 * agent protocol's client speaks to a daemon's socket exactly as to a relay process's stdio:
 * stdin writes to the connection (closing it half-closes the connection), stdout reads from
 * it, stderr is empty, the status resolves (code 0) once the peer has closed its side, and
 * `kill` closes the connection.
 * @module
 */
import type { ProcessStatus, RemoteProcess } from "./types.ts";

/** Wraps `conn`; the caller no longer uses it directly. */
export function socketProcess(conn: Deno.Conn): RemoteProcess {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch (error) {
      // Already closed by a stream that ended: nothing left to release.
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
  };
  // A reset ends the stream as an end of file does: the session is over either way. (Piping
  // must not abort the output with the read's error, or its reader gets the reset.)
  const status: Promise<ProcessStatus> = conn.readable.pipeTo(writable, { preventAbort: true })
    .catch(() => writable.close().catch(() => undefined))
    .then(() => {
      close();
      return { code: 0, signal: null };
    });
  return {
    stdin: conn.writable,
    stdout: readable,
    stderr: new ReadableStream({ start: (controller) => controller.close() }),
    status,
    kill: () => {
      close();
      return Promise.resolve();
    },
  };
}
