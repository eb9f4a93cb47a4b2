/**
 * What the swap daemon's I/O loop needs from remote memory, and the events a backend reports.
 * Methods may complete synchronously (the TCP backend blocks its worker thread) or return a
 * promise (the RDMA backend). Pure types and a small retry policy.
 * @module
 */

/** The device's pages on the memory server. Offsets and lengths are whole 4 KiB pages. */
export interface SwapBackend {
  /** Reads `target.length` bytes at `offset`. */
  read(offset: number, target: Uint8Array<ArrayBuffer>): void | Promise<void>;
  /** Writes `source` at `offset`. */
  write(offset: number, source: Uint8Array<ArrayBuffer>): void | Promise<void>;
  /** Forgets a range (its pages read as zeros afterwards). */
  discard(offset: number, length: number): void | Promise<void>;
  /** Frees the device's remote memory and closes (the device is being removed). */
  release(): void | Promise<void>;
}

/** A request the backend cannot serve; the kernel gets `errno` (EIO, ENOSPC). */
export class SwapIoError extends Error {
  readonly errno: number;
  /** Creates the error. */
  constructor(errno: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SwapIoError";
    this.errno = errno;
  }
}

/** errno values returned to the kernel. */
export const IoErrno = { EIO: 5, ENOSPC: 28, EINVAL: 22 } as const;

/** Something the data path reports to the daemon's main thread (and on to the agent). */
export type SwapEvent =
  /** A worker lost its memory-server connection and is retrying; I/O waits meanwhile. */
  | { event: "connection-lost"; worker: number; message: string }
  /** A worker is connected again; `reattached` false means the server had lost the region. */
  | { event: "reconnected"; worker: number; reattached: boolean; afterMs: number }
  /** Pages stored remotely are gone: reads of them fail with EIO (programs get SIGBUS). */
  | { event: "remote-lost"; worker: number; lostPages: number; message: string }
  /** Retries exhausted: I/O fails with EIO until a later retry succeeds. */
  | { event: "unavailable"; worker: number; message: string }
  /** A worker stopped on an unexpected error. */
  | { event: "worker-failed"; worker: number; message: string };

/** How a lost connection is retried. */
export interface RetryPolicy {
  /** First delay between attempts; doubles up to `maxDelayMs`. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** How long I/O waits for a reconnect before the memory server is declared unavailable. */
  readonly budgetMs: number;
  /** While unavailable, one attempt at most this often (I/O fails fast in between). */
  readonly retryEveryMs: number;
}

/** Defaults: 100 ms doubling to 2 s, 30 s of waiting, then an attempt every 5 s. */
export const DEFAULT_RETRY: RetryPolicy = {
  initialDelayMs: 100,
  maxDelayMs: 2000,
  budgetMs: 30_000,
  retryEveryMs: 5000,
};
