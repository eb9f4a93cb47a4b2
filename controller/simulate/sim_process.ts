/**
 * An in-process stand-in for a process on a host: piped stdio as streams, lines in and out, an
 * exit status. What the simulated connector hands the run for `spawn`.
 * @module
 */
import type { ProcessStatus, RemoteProcess } from "../connectors/types.ts";

const encoder = new TextEncoder();

/** A simulated process. */
export class SimProcess implements RemoteProcess {
  readonly stdin: WritableStream<Uint8Array>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly status: Promise<ProcessStatus>;
  readonly argv: readonly string[];
  readonly #out: ReadableStreamDefaultController<Uint8Array>;
  readonly #err: ReadableStreamDefaultController<Uint8Array>;
  readonly #resolve: (status: ProcessStatus) => void;
  readonly #onKill: (signal: Deno.Signal) => void;
  /** Output streams the reader cancelled (nothing more may be enqueued on them). */
  readonly #cancelled = new Set<"out" | "err">();
  #exited = false;

  /**
   * `onLine` gets each line written to stdin; `onStdinClosed` runs when stdin is closed;
   * `onKill` decides what a signal does (default: exit at once).
   */
  constructor(
    argv: readonly string[],
    handlers: {
      onLine?: (line: string) => void;
      onStdinClosed?: () => void;
      onKill?: (signal: Deno.Signal) => void;
    } = {},
  ) {
    this.argv = argv;
    let out: ReadableStreamDefaultController<Uint8Array> | undefined;
    let err: ReadableStreamDefaultController<Uint8Array> | undefined;
    this.stdout = new ReadableStream({
      start: (c) => void (out = c),
      cancel: () => void this.#cancelled.add("out"),
    });
    this.stderr = new ReadableStream({
      start: (c) => void (err = c),
      cancel: () => void this.#cancelled.add("err"),
    });
    if (out === undefined || err === undefined) throw new Error("stream start did not run");
    this.#out = out;
    this.#err = err;
    let resolve: ((status: ProcessStatus) => void) | undefined;
    this.status = new Promise((r) => resolve = r);
    if (resolve === undefined) throw new Error("promise executor did not run");
    this.#resolve = resolve;
    this.#onKill = handlers.onKill ?? ((signal) => this.exit(signal === "SIGKILL" ? 137 : 143));
    const decoder = new TextDecoder();
    let buffered = "";
    this.stdin = new WritableStream({
      write: (chunk) => {
        if (this.#exited) throw new Error(`process ${argv.join(" ")} has exited`);
        buffered += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          handlers.onLine?.(line);
        }
      },
      close: () => handlers.onStdinClosed?.(),
    });
  }

  /** True once the process has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Writes one line to stdout (dropped after the exit). */
  writeLine(line: string): void {
    if (!this.#exited && !this.#cancelled.has("out")) {
      this.#out.enqueue(encoder.encode(line + "\n"));
    }
  }

  /** Writes text to stderr (dropped after the exit). */
  writeError(text: string): void {
    if (!this.#exited && !this.#cancelled.has("err")) this.#err.enqueue(encoder.encode(text));
  }

  /** Ends the process: output closes, the status resolves. Idempotent. */
  exit(code: number, signal: Deno.Signal | null = null): void {
    if (this.#exited) return;
    this.#exited = true;
    if (!this.#cancelled.has("out")) this.#out.close();
    if (!this.#cancelled.has("err")) this.#err.close();
    this.#resolve({ code, signal });
  }

  /** Delivers `signal` to the process. */
  kill(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    if (!this.#exited) this.#onKill(signal);
    return Promise.resolve();
  }
}
