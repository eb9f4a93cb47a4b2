/**
 * The TCP backend of one swap I/O worker: a blocking {@link SwapLink} that is re-established
 * when it breaks. While reconnecting, the request waits (the kernel waits with it), with
 * backoff, up to the retry budget; the region is re-attached by its key, so pages survive a
 * dropped connection (the server keeps a detached region for its grace period). If the server
 * no longer has the region (it restarted, or the grace period passed), every page the daemon
 * had stored is marked lost and reported. After the budget, I/O fails with EIO at once and a
 * reconnect is tried every few seconds. Runs on a worker thread only.
 * @module
 */
import { RemoteError, TransportClosedError } from "../memserver/client/transport.ts";
import { Status } from "../memserver/protocol.ts";
import {
  IoErrno,
  type RetryPolicy,
  type SwapBackend,
  type SwapEvent,
  SwapIoError,
} from "./backend.ts";
import { LinkState, type SwapSharedState } from "./shared_state.ts";
import { type LinkTarget, SwapLink } from "./tcp_link.ts";

/** Options of {@link TcpSwapBackend}. */
export interface TcpBackendOptions {
  readonly target: LinkTarget;
  readonly retry: RetryPolicy;
  readonly state: SwapSharedState;
  readonly worker: number;
  readonly onEvent: (event: SwapEvent) => void;
  /** Clock (ms) and sleep; injectable for tests. */
  readonly nowMs?: () => number;
  readonly sleepMs?: (ms: number) => void;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function blockingSleep(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** A reconnecting, blocking backend over one TCP connection. */
export class TcpSwapBackend implements SwapBackend {
  readonly #options: TcpBackendOptions;
  readonly #nowMs: () => number;
  readonly #sleep: (ms: number) => void;
  #link: SwapLink | null;
  #unavailableSince: number | null = null;
  #lastAttemptMs = 0;
  #lostAtMs = 0;

  /** Wraps a link opened by the caller (the first open's errors are the caller's to report). */
  constructor(link: SwapLink, options: TcpBackendOptions) {
    this.#link = link;
    this.#options = options;
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#sleep = options.sleepMs ?? blockingSleep;
  }

  read(offset: number, target: Uint8Array<ArrayBuffer>): void {
    this.#run((link) => link.read(offset, target));
  }

  write(offset: number, source: Uint8Array<ArrayBuffer>): void {
    this.#run((link) => link.write(offset, source));
  }

  discard(offset: number, length: number): void {
    this.#run((link) => link.discard(offset, length));
  }

  release(): void {
    const link = this.#link;
    this.#link = null;
    if (link === null) return;
    try {
      link.free();
    } catch (error) {
      if (!(error instanceof TransportClosedError || error instanceof RemoteError)) throw error;
    } finally {
      link.close();
    }
  }

  /** Runs one request, reconnecting (and repeating it) when the connection breaks. */
  #run(request: (link: SwapLink) => void): void {
    for (;;) {
      const link = this.#connected();
      try {
        request(link);
        return;
      } catch (error) {
        if (error instanceof RemoteError) throw ioError(error);
        if (!(error instanceof TransportClosedError)) throw error;
        link.close();
        this.#link = null;
        this.#lostAtMs = this.#nowMs();
        this.#options.onEvent({
          event: "connection-lost",
          worker: this.#options.worker,
          message: error.message,
        });
      }
    }
  }

  #connected(): SwapLink {
    if (this.#link !== null) return this.#link;
    const { retry, worker, state } = this.#options;
    if (this.#unavailableSince !== null) {
      // Unavailable: one quick attempt every retryEveryMs, otherwise fail fast.
      if (this.#nowMs() - this.#lastAttemptMs < retry.retryEveryMs) {
        throw new SwapIoError(IoErrno.EIO, "the memory server is unavailable");
      }
      const link = this.#attempt();
      if (link === null) throw new SwapIoError(IoErrno.EIO, "the memory server is unavailable");
      return link;
    }
    state.setLink(worker, LinkState.RECONNECTING);
    const started = this.#nowMs();
    let delay = retry.initialDelayMs;
    for (;;) {
      const link = this.#attempt();
      if (link !== null) return link;
      if (this.#nowMs() - started >= retry.budgetMs) break;
      this.#sleep(delay);
      delay = Math.min(delay * 2, retry.maxDelayMs);
    }
    this.#unavailableSince = this.#nowMs();
    state.setLink(worker, LinkState.UNAVAILABLE);
    this.#options.onEvent({
      event: "unavailable",
      worker,
      message: `no connection to the memory server for ${retry.budgetMs} ms; swap I/O now ` +
        `fails with EIO (programs touching swapped pages get SIGBUS); retrying every ` +
        `${retry.retryEveryMs} ms`,
    });
    throw new SwapIoError(IoErrno.EIO, "the memory server is unavailable");
  }

  /** One connection attempt; null when it failed. */
  #attempt(): SwapLink | null {
    const { target, worker, state, onEvent } = this.#options;
    this.#lastAttemptMs = this.#nowMs();
    let link: SwapLink;
    try {
      link = SwapLink.open(target);
    } catch (error) {
      if (error instanceof TransportClosedError || error instanceof RemoteError) return null;
      throw error;
    }
    this.#link = link;
    this.#unavailableSince = null;
    state.setLink(worker, LinkState.CONNECTED);
    state.count(worker, "reconnects");
    if (!link.region.reattached) {
      const lostPages = state.markAllLost(worker);
      if (lostPages > 0) {
        onEvent({
          event: "remote-lost",
          worker,
          lostPages,
          message: `the memory server no longer has this device's region: ${lostPages} ` +
            "stored pages are lost; programs that touch them get SIGBUS",
        });
      }
    }
    onEvent({
      event: "reconnected",
      worker,
      reattached: link.region.reattached,
      afterMs: Math.round(this.#nowMs() - this.#lostAtMs),
    });
    return link;
  }
}

function ioError(error: RemoteError): SwapIoError {
  const errno = error.status === Status.NO_SPACE ? IoErrno.ENOSPC : IoErrno.EIO;
  return new SwapIoError(errno, error.message, { cause: error });
}
