/**
 * The swap daemon's I/O worker threads, seen from its main thread: start them on the FUSE
 * descriptor, wait until each has its memory-server link (or learn why not), pass their events
 * on, and wait for them to end once the mount is gone.
 * @module
 */
import type { SwapEvent } from "./backend.ts";
import type { WorkerInit, WorkerMessage } from "./io_worker.ts";

/** The worker module: this checkout's io_worker.ts, or the bundle itself when bundled. */
export function workerModuleUrl(): URL {
  const bundled = !import.meta.url.endsWith(".ts");
  return bundled ? new URL(import.meta.url) : new URL("./io_worker.ts", import.meta.url);
}

/** A worker could not connect: the memory server refused or could not be reached. */
export class WorkerRefusedError extends Error {
  readonly reason: "auth" | "unreachable" | "other";
  /** Creates the error. */
  constructor(message: string, reason: "auth" | "unreachable" | "other") {
    super(message);
    this.name = "WorkerRefusedError";
    this.reason = reason;
  }
}

/** Running I/O workers. */
export class IoWorkers {
  readonly #workers: Worker[] = [];
  readonly #ended: Promise<void>[] = [];
  readonly #onEvent: (event: SwapEvent) => void;
  /** PR_SET_IO_FLUSHER outcome of the workers: true, or the first error. */
  ioFlusher: true | string = true;

  private constructor(onEvent: (event: SwapEvent) => void) {
    this.#onEvent = onEvent;
  }

  /**
   * Starts one worker per init and resolves once every one is connected. Throws
   * WorkerRefusedError (after stopping them all) when one cannot connect.
   */
  static async start(
    inits: readonly WorkerInit[],
    onEvent: (event: SwapEvent) => void,
  ): Promise<IoWorkers> {
    const pool = new IoWorkers(onEvent);
    const ready = inits.map((init) => pool.#spawn(init));
    const outcomes = await Promise.allSettled(ready);
    const failure = outcomes.find((o) => o.status === "rejected");
    if (failure !== undefined) {
      pool.terminate();
      throw failure.reason;
    }
    return pool;
  }

  #spawn(init: WorkerInit): Promise<void> {
    const worker = new Worker(workerModuleUrl(), { type: "module" });
    this.#workers.push(worker);
    let resolveEnded: () => void = () => {};
    this.#ended.push(new Promise<void>((resolve) => resolveEnded = resolve));
    return new Promise<void>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
        const message = event.data;
        switch (message.type) {
          case "ready":
            if (message.ioFlusher !== true && this.ioFlusher === true) {
              this.ioFlusher = message.ioFlusher.error;
            }
            resolve();
            return;
          case "refused":
            reject(new WorkerRefusedError(message.message, message.reason));
            resolveEnded();
            return;
          case "event":
            if (message.event.event === "worker-failed") {
              reject(new WorkerRefusedError(message.event.message, "other"));
              resolveEnded();
            }
            this.#onEvent(message.event);
            return;
          case "ended":
            resolveEnded();
            return;
        }
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        const message = `I/O worker ${init.worker} failed: ${event.message}`;
        reject(new WorkerRefusedError(message, "other"));
        this.#onEvent({ event: "worker-failed", worker: init.worker, message });
        resolveEnded();
      };
      worker.postMessage(init);
    });
  }

  /** Resolves when every worker has ended (after the mount is gone), or after `timeoutMs`. */
  async ended(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) =>
      timer = setTimeout(() => resolve(false), timeoutMs)
    );
    try {
      return await Promise.race([Promise.all(this.#ended).then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops every worker thread at once. */
  terminate(): void {
    for (const worker of this.#workers) worker.terminate();
  }
}
