/**
 * The swap daemon's control socket: a Unix socket (0600 in a 0700 directory) taking JSON-line
 * requests (`status`, `set-write-cap`, `down`, `watch`), one response line each; `watch` keeps
 * the connection and streams events, and its end tells a watcher the daemon is gone.
 * @module
 */
import { readLines } from "../common/lines.ts";
import type { TimedEvent } from "./event_log.ts";
import {
  type ControlResponse,
  type DeviceStatus,
  parseControlRequest,
  type RemovedDevice,
} from "./protocol.ts";

/** What the control socket can ask of the daemon. */
export interface ControlHandlers {
  status(): Promise<DeviceStatus>;
  setWriteCap(bytesPerSec: number | null): Promise<DeviceStatus>;
  down(): Promise<RemovedDevice>;
  events: { watch(listener: (event: TimedEvent) => void): () => void };
}

/** A listening control socket. */
export class ControlServer {
  readonly #listener: Deno.Listener<Deno.UnixConn>;
  readonly #connections = new Set<Deno.UnixConn>();
  readonly #watchers = new Set<Deno.UnixConn>();
  readonly #handlers = new Set<Promise<void>>();
  readonly #accepting: Promise<void>;

  private constructor(listener: Deno.Listener<Deno.UnixConn>, handlers: ControlHandlers) {
    this.#listener = listener;
    this.#accepting = (async () => {
      try {
        for await (const conn of listener) {
          this.#connections.add(conn);
          const handler = serveConnection(conn, handlers, () => this.#watchers.add(conn)).finally(
            () => {
              this.#connections.delete(conn);
              this.#watchers.delete(conn);
              this.#handlers.delete(handler);
              closeQuietly(conn);
            },
          );
          this.#handlers.add(handler);
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.BadResource)) throw error;
      }
    })();
  }

  /** Listens on `path` (mode 0600). */
  static listen(path: string, handlers: ControlHandlers): ControlServer {
    const listener = Deno.listen({ transport: "unix", path });
    Deno.chmodSync(path, 0o600);
    return new ControlServer(listener, handlers);
  }

  /**
   * Stops listening and closes watchers; other clients get up to `graceMs` to read their last
   * reply (the one to `down`) and hang up, then they are closed too.
   */
  async close(graceMs = 2000): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    for (const conn of this.#watchers) closeQuietly(conn);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.#handlers]),
      new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
    ]);
    clearTimeout(timer);
    for (const conn of this.#connections) closeQuietly(conn);
    await Promise.allSettled([...this.#handlers]);
  }
}

async function serveConnection(
  conn: Deno.UnixConn,
  handlers: ControlHandlers,
  onWatch: () => void,
): Promise<void> {
  const encoder = new TextEncoder();
  let writing = Promise.resolve();
  const send = (message: ControlResponse | TimedEvent) => {
    const bytes = encoder.encode(JSON.stringify(message) + "\n");
    writing = writing.then(async () => {
      let at = 0;
      while (at < bytes.length) at += await conn.write(bytes.subarray(at));
    });
    return writing;
  };
  let unwatch: (() => void) | null = null;
  try {
    for await (const line of readLines(conn.readable)) {
      if (line.trim() === "") continue;
      const request = parseControlRequest(line);
      if ("error" in request) {
        await send({ ok: false, error: request.error });
        continue;
      }
      switch (request.op) {
        case "status":
          await send({ ok: true, status: await handlers.status() });
          break;
        case "set-write-cap":
          await send({ ok: true, status: await handlers.setWriteCap(request.bytesPerSec) });
          break;
        case "down":
          try {
            await send({ ok: true, removed: await handlers.down() });
          } catch (error) {
            await send({ ok: false, error: (error as Error).message });
          }
          break;
        case "watch":
          onWatch();
          unwatch ??= handlers.events.watch((event) => {
            send(event).catch((error) => {
              if (!isDisconnect(error)) console.error(`control socket: ${error}`);
            });
          });
          await send({ ok: true, watching: true });
          break;
      }
    }
  } catch (error) {
    if (!isDisconnect(error)) throw error;
  } finally {
    unwatch?.();
    await writing.catch((error) => {
      if (!isDisconnect(error)) throw error;
    });
  }
}

function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource || error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.Interrupted;
}

function closeQuietly(conn: Deno.UnixConn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}
