/**
 * The C swap engine as a child of the swap daemon: started with the device's parameters, it
 * mounts the FUSE file, connects its I/O threads and says it is ready (or why not) on stdout;
 * afterwards it answers `stats` and `cap` lines on stdin and reports events on stdout (the
 * protocol is described at the top of swap_engine.c). It runs detached, so it keeps serving
 * swapped pages even if the daemon dies.
 * @module
 */
import { readLines } from "../../common/lines.ts";
import type { RetryPolicy, SwapEvent } from "../backend.ts";
import type { EngineSnapshot, IoEngine } from "../io_engine.ts";
import type { SwapCounters } from "../shared_state.ts";

/** What the engine needs to start. */
export interface CEngineOptions {
  readonly binary: string;
  readonly mountpoint: string;
  readonly fsName: string;
  readonly sizeBytes: number;
  /** IP literal of the memory server. */
  readonly ip: string;
  readonly port: number;
  readonly tokenFile: string;
  readonly workers: number;
  readonly writeCapBytesPerSec: number;
  readonly ioTimeoutMs: number;
  readonly retry: RetryPolicy;
  readonly onEvent: (event: SwapEvent) => void;
}

/** The engine refused to start (the reason as the daemon reports it). */
export class EngineStartError extends Error {
  readonly reason: "auth" | "unreachable" | "protocol" | "setup";
  /** Creates the error. */
  constructor(reason: EngineStartError["reason"], message: string) {
    super(message);
    this.name = "EngineStartError";
    this.reason = reason;
  }
}

type EngineLine =
  | { event: "ready"; ioFlusher: true | string }
  | { event: "error"; reason: EngineStartError["reason"]; message: string }
  | (
    & {
      event: "stats";
      links: number[];
      writeCapBytesPerSec: number;
      readaheadHits: number;
      readaheadBytes: number;
    }
    & Omit<
      SwapCounters,
      "storedPages"
    >
    & { storedPages: number; writeCapWaitMs: number }
  )
  | { event: "write-cap"; bytesPerSec: number }
  | { event: "ended"; storedPages: number }
  | SwapEvent;

/** A running C engine. */
export class CEngine implements IoEngine {
  readonly kind = "c" as const;
  readonly pid: number;
  readonly ioFlusher: true | string;
  readonly memoryLock = true as const;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #waiting: ((snapshot: EngineSnapshot) => void)[] = [];
  readonly #exited: Promise<Deno.CommandStatus>;
  readonly exited: Promise<string>;

  private constructor(
    child: Deno.ChildProcess,
    stdin: WritableStreamDefaultWriter<Uint8Array>,
    ioFlusher: true | string,
  ) {
    this.#child = child;
    this.#stdin = stdin;
    this.pid = child.pid;
    this.ioFlusher = ioFlusher;
    this.#exited = child.status;
    this.exited = child.status.then((status) =>
      status.signal === null ? `exit code ${status.code}` : `signal ${status.signal}`
    );
  }

  /** Starts the engine and waits for its ready line; throws EngineStartError when it refuses. */
  static async start(options: CEngineOptions): Promise<CEngine> {
    const { retry } = options;
    const child = new Deno.Command(options.binary, {
      args: [
        options.mountpoint,
        options.fsName,
        String(options.sizeBytes),
        options.ip,
        String(options.port),
        options.tokenFile,
        String(options.workers),
        String(Math.round(options.writeCapBytesPerSec)),
        String(options.ioTimeoutMs),
        String(retry.initialDelayMs),
        String(retry.maxDelayMs),
        String(retry.budgetMs),
        String(retry.retryEveryMs),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      detached: true,
    }).spawn();
    const lines = readLines(child.stdout);
    const first = await lines.next();
    const stdin = child.stdin.getWriter();
    if (first.done) {
      const status = await child.status;
      await closeGone(stdin);
      throw new EngineStartError(
        "setup",
        `the swap engine exited (code ${status.code}) before it was ready`,
      );
    }
    const line = JSON.parse(first.value) as EngineLine;
    if (line.event !== "ready") {
      await child.status;
      await closeGone(stdin);
      if (line.event === "error") throw new EngineStartError(line.reason, line.message);
      throw new EngineStartError(
        "setup",
        `the swap engine said ${first.value} before it was ready`,
      );
    }
    const engine = new CEngine(child, stdin, line.ioFlusher);
    engine.#pump(lines, options.onEvent);
    return engine;
  }

  async #pump(lines: AsyncGenerator<string>, onEvent: (event: SwapEvent) => void): Promise<void> {
    for await (const text of lines) {
      const line = JSON.parse(text) as EngineLine;
      switch (line.event) {
        case "stats": {
          const {
            event: _event,
            links,
            writeCapBytesPerSec,
            readaheadHits,
            readaheadBytes,
            ...totals
          } = line;
          const readahead = { hits: readaheadHits, bytes: readaheadBytes };
          this.#waiting.shift()?.({ totals, links, writeCapBytesPerSec, readahead });
          break;
        }
        case "ready":
        case "error":
        case "write-cap":
        case "ended":
          break;
        default:
          onEvent(line);
      }
    }
  }

  snapshot(): Promise<EngineSnapshot> {
    const answer = new Promise<EngineSnapshot>((resolve) => this.#waiting.push(resolve));
    this.#send("stats");
    return answer;
  }

  setWriteCap(bytesPerSec: number): void {
    this.#send(`cap ${Math.round(bytesPerSec)}`);
  }

  #send(line: string): void {
    this.#stdin.write(new TextEncoder().encode(`${line}\n`)).catch((error) => {
      console.error(`swap engine: cannot send "${line}": ${(error as Error).message}`);
    });
  }

  async stopped(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) =>
      timer = setTimeout(() => resolve(false), timeoutMs)
    );
    try {
      return await Promise.race([this.#exited.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // already exited
    }
  }
}

/** Closes the stdin of an engine that has exited (its pipe may already be broken). */
async function closeGone(stdin: WritableStreamDefaultWriter<Uint8Array>): Promise<void> {
  try {
    await stdin.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe || error instanceof TypeError)) throw error;
  }
}
