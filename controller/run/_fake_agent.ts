/**
 * For tests: a fake `spirit agent` session (a RemoteProcess) that answers requests with given
 * lines and can push events.
 * @module
 */
import type { ProcessStatus, RemoteProcess } from "../connectors/types.ts";

/** The `attached` line of the fake agent (daemon pid 42). */
export const ATTACHED = {
  event: "attached",
  protocolVersion: 1,
  agentVersion: "0.1.0",
  daemonPid: 42,
  daemonStartedAtMs: 0,
  apps: [],
};

/**
 * A fake agent session: answers each request line with `answer(request)` (raw text lines);
 * `push` sends a line at any time (an event), `fail` breaks its output.
 */
export function fakeAgent(
  answer: (request: { id: number; op: string }) => string[],
  first: string = JSON.stringify(ATTACHED),
): RemoteProcess & { push(line: string): void; fail(error: Error): void } {
  let out!: ReadableStreamDefaultController<Uint8Array>;
  let resolveStatus!: (status: ProcessStatus) => void;
  const status = new Promise<ProcessStatus>((resolve) => resolveStatus = resolve);
  const encoder = new TextEncoder();
  const send = (line: string) => out.enqueue(encoder.encode(line + "\n"));
  const stdout = new ReadableStream<Uint8Array>({
    start(controller) {
      out = controller;
      send(first);
    },
  });
  let broken = false;
  const end = () => {
    if (!broken) out.close();
    resolveStatus({ code: 0, signal: null });
  };
  const stdin = new WritableStream<Uint8Array>({
    write(chunk) {
      for (const line of new TextDecoder().decode(chunk).split("\n")) {
        if (line.trim() === "") continue;
        for (const reply of answer(JSON.parse(line))) send(reply);
      }
    },
    close: end,
  });
  return {
    push: send,
    // The session's output breaks (a connection reset mid-read).
    fail: (error) => {
      broken = true;
      out.error(error);
    },
    stdin,
    stdout,
    stderr: new ReadableStream({ start: (c) => c.close() }),
    status,
    kill: () => {
      end();
      return Promise.resolve();
    },
  };
}

/** A successful answer to `hello` number `id`. */
export const hello = (id: number) =>
  JSON.stringify({
    id,
    ok: true,
    result: { protocolVersion: 1, agentVersion: "0.1.0", daemonPid: 42 },
  });
