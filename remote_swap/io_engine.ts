/**
 * The swap daemon's data path, whichever implements it: the C engine (a child process that
 * locks its memory: the default over TCP) or the TypeScript workers (RDMA, and TCP for
 * comparison). The daemon's main thread only needs this much of it.
 * @module
 */
import type { SwapCounters } from "./shared_state.ts";

export type { EngineKind } from "./protocol.ts";
import type { EngineKind } from "./protocol.ts";

/** Counters and link states of the data path at one instant. */
export interface EngineSnapshot {
  readonly totals: SwapCounters;
  /** Per I/O thread: 0 connected, 1 reconnecting, 2 unavailable (LinkState). */
  readonly links: readonly number[];
  /** 0 when there is no cap. */
  readonly writeCapBytesPerSec: number;
  /**
   * The C engine's sequential read-ahead: reads answered from its buffer, bytes fetched into it
   * (absent for the TypeScript engine, which has none).
   */
  readonly readahead?: { readonly hits: number; readonly bytes: number };
}

/** A running data path; the FUSE file it serves is mounted. */
export interface IoEngine {
  readonly kind: EngineKind;
  /** The process holding the data path (the engine's, or the daemon's own for "ts"). */
  readonly pid: number;
  /** PR_SET_IO_FLUSHER outcome: true, or the error the kernel gave. */
  readonly ioFlusher: true | string;
  /** Whether the data path's memory is locked (mlockall), or why not. */
  readonly memoryLock: true | string;
  snapshot(): Promise<EngineSnapshot>;
  setWriteCap(bytesPerSec: number): void;
  /** Resolves with a description when the data path's process ends (for whatever reason). */
  readonly exited: Promise<string>;
  /** Resolves true once the data path has stopped (after the mount is gone), false on timeout. */
  stopped(timeoutMs: number): Promise<boolean>;
  /** Stops it at once (after a failed start, or when it does not stop by itself). */
  kill(): void;
}
