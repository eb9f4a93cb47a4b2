/**
 * The TypeScript data path: the daemon mounts the FUSE file itself and serves it from worker
 * threads (io_worker.ts) that share page states, counters and the write cap in
 * SharedArrayBuffers. Used over RDMA (spirit's RDMA transport is TypeScript) and, for
 * comparison, over TCP. Its memory cannot be locked: V8 aborts under mlockall (its heap is
 * discarded with madvise(MADV_DONTNEED), which locked pages refuse), see docs/remote_swap.md.
 * @module
 */
import { closeFuse, mountFuse } from "../ffi/fuse.ts";
import type { SwapEvent } from "./backend.ts";
import type { EngineSnapshot, IoEngine } from "./io_engine.ts";
import type { WorkerInit } from "./io_worker.ts";
import { SwapSharedState } from "./shared_state.ts";
import { IoWorkers } from "./workers.ts";

/** Largest FUSE request served (and sent by the kernel, with FUSE_MAX_PAGES). */
export const MAX_TRANSFER_BYTES = 1 << 20;

/** What the workers need; `remote` is per transport, as in {@link WorkerInit}. */
export interface TsEngineOptions {
  readonly mountpoint: string;
  readonly fsName: string;
  readonly sizeBytes: number;
  readonly workers: number;
  readonly writeCapBytesPerSec: number;
  readonly timeSec: number;
  readonly retry: WorkerInit["retry"];
  readonly remote: WorkerInit["remote"];
  readonly onEvent: (event: SwapEvent) => void;
}

/** The TypeScript data path. */
export class TsEngine implements IoEngine {
  readonly kind = "ts" as const;
  readonly pid = Deno.pid;
  readonly memoryLock =
    "not locked: V8 aborts under mlockall (madvise(MADV_DONTNEED) fails on locked pages)";
  readonly ioFlusher: true | string;
  /** The workers live in the daemon's own process: they end with it. */
  readonly exited: Promise<string> = new Promise(() => {});
  readonly #state: SwapSharedState;
  readonly #workers: IoWorkers;
  #fuseFd: number | null;

  private constructor(state: SwapSharedState, workers: IoWorkers, fuseFd: number) {
    this.#state = state;
    this.#workers = workers;
    this.#fuseFd = fuseFd;
    this.ioFlusher = workers.ioFlusher;
  }

  /** Mounts and starts the workers; unmounts again when a worker cannot connect. */
  static async start(options: TsEngineOptions): Promise<TsEngine> {
    const state = SwapSharedState.create({
      pages: options.sizeBytes / 4096,
      workers: options.workers,
    });
    state.setWriteCap(options.writeCapBytesPerSec);
    const fuseFd = mountFuse(options.mountpoint, {
      fsName: options.fsName,
      subtype: "spirit-swap",
    });
    const inits = Array.from({ length: options.workers }, (_, worker): WorkerInit => ({
      role: "remote-swap-io",
      worker,
      fuseFd,
      sizeBytes: options.sizeBytes,
      maxTransferBytes: MAX_TRANSFER_BYTES,
      timeSec: options.timeSec,
      shared: state.buffers,
      retry: options.retry,
      remote: options.remote,
    }));
    try {
      return new TsEngine(state, await IoWorkers.start(inits, options.onEvent), fuseFd);
    } catch (error) {
      closeFuse(fuseFd);
      throw error;
    }
  }

  snapshot(): Promise<EngineSnapshot> {
    return Promise.resolve({
      totals: this.#state.totals(),
      links: this.#state.links(),
      writeCapBytesPerSec: this.#state.writeCapBytesPerSec,
    });
  }

  setWriteCap(bytesPerSec: number): void {
    this.#state.setWriteCap(bytesPerSec);
  }

  async stopped(timeoutMs: number): Promise<boolean> {
    const ended = await this.#workers.ended(timeoutMs);
    this.#close();
    return ended;
  }

  kill(): void {
    this.#close();
  }

  #close(): void {
    this.#workers.terminate();
    if (this.#fuseFd !== null) closeFuse(this.#fuseFd);
    this.#fuseFd = null;
  }
}
