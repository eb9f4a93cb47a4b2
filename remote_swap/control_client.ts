/**
 * Talking to a swap daemon's control socket: one request and its response, or a watch that
 * streams the daemon's events and ends when the daemon does.
 * @module
 */
import { readLines } from "../common/lines.ts";
import type { ControlRequest, ControlResponse, DaemonEvent } from "./protocol.ts";

/** The daemon did not answer (no socket, refused, or too slow). */
export class DaemonUnreachableError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DaemonUnreachableError";
  }
}

async function connect(socket: string): Promise<Deno.UnixConn> {
  try {
    return await Deno.connect({ transport: "unix", path: socket });
  } catch (error) {
    throw new DaemonUnreachableError(
      `The swap daemon does not answer on ${socket}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Sends one request and returns the response. `timeoutMs` bounds the wait for the response
 * (omit it for `down`, whose swapoff may take minutes).
 */
export async function controlRequest(
  socket: string,
  request: ControlRequest,
  options: { timeoutMs?: number } = {},
): Promise<ControlResponse> {
  const conn = await connect(socket);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await conn.write(new TextEncoder().encode(JSON.stringify(request) + "\n"));
    const lines = readLines(conn.readable);
    const first = lines.next();
    const timeout = options.timeoutMs === undefined ? null : new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new DaemonUnreachableError(`No answer on ${socket} within ${options.timeoutMs} ms`),
          ),
        options.timeoutMs,
      );
    });
    const line = await (timeout === null ? first : Promise.race([first, timeout]));
    if (line.done) {
      throw new DaemonUnreachableError(`The swap daemon closed ${socket} without answering`);
    }
    return JSON.parse(line.value) as ControlResponse;
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

function closeQuietly(conn: Deno.UnixConn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

/** A watch on a daemon's events. */
export interface DaemonWatch {
  /** Resolves when the connection ends: the daemon exited (or `close` was called). */
  readonly ended: Promise<void>;
  close(): void;
}

/** Streams the daemon's events to `onEvent` until it exits or `close()` is called. */
export async function watchDaemon(
  socket: string,
  onEvent: (event: DaemonEvent & { timeMs: number }) => void,
): Promise<DaemonWatch> {
  const conn = await connect(socket);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    closeQuietly(conn);
  };
  await conn.write(new TextEncoder().encode(JSON.stringify({ op: "watch" }) + "\n"));
  const lines = readLines(conn.readable);
  const first = await lines.next();
  if (first.done) {
    close();
    throw new DaemonUnreachableError(`The swap daemon closed ${socket} without answering`);
  }
  const ended = (async () => {
    try {
      for await (const line of lines) {
        const message = JSON.parse(line) as Record<string, unknown>;
        if (typeof message.event === "string") onEvent(message as DaemonEvent & { timeMs: number });
      }
    } catch (error) {
      if (
        !(closed || error instanceof Deno.errors.BadResource ||
          error instanceof Deno.errors.ConnectionReset)
      ) {
        throw error;
      }
    } finally {
      close();
    }
  })();
  return { ended, close };
}
