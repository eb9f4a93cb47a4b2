/**
 * The RDMA backend of the swap daemon: the whole device is one region of the memory server,
 * registered at connect (the passive one-sided contract: the server allocates and registers
 * `size` bytes and is not involved in any transfer after that), read and written with one-sided
 * RDMA READ and WRITE through spirit's RDMA transport. A discard cannot reach the server (it
 * takes no part in transfers): the daemon marks the pages empty, so they read as zeros, and the
 * server's memory is returned when the connection closes. A lost connection loses the region
 * (the contract has no way to name it again): the daemon reconnects with backoff, gets a fresh
 * region, and marks every page it had stored as lost.
 * @module
 */
import { connectTransport } from "../memserver/client/connect.ts";
import {
  type RemoteRegion,
  type RemoteTransport,
  TransportClosedError,
} from "../memserver/client/transport.ts";
import {
  IoErrno,
  type RetryPolicy,
  type SwapBackend,
  type SwapEvent,
  SwapIoError,
} from "./backend.ts";
import { LinkState, type SwapSharedState } from "./shared_state.ts";

/** Where the RDMA memory server is. */
export interface RdmaTarget {
  readonly hostname: string;
  readonly port: number;
  readonly token?: Uint8Array;
  readonly sizeBytes: number;
}

/** Opens a transport and the device's region; throws what the transport throws. */
export async function openRdmaRegion(
  target: RdmaTarget,
): Promise<{ transport: RemoteTransport; region: RemoteRegion }> {
  const transport = await connectTransport(
    {
      hostname: target.hostname,
      port: target.port,
      ...(target.token === undefined ? {} : { token: target.token }),
    },
    { kind: "rdma" },
  );
  try {
    return { transport, region: await transport.allocate(target.sizeBytes) };
  } catch (error) {
    await transport.close();
    throw error;
  }
}

/** A reconnecting backend over one RDMA connection and region. */
export class RdmaSwapBackend implements SwapBackend {
  readonly #target: RdmaTarget;
  readonly #options: {
    retry: RetryPolicy;
    state: SwapSharedState;
    worker: number;
    onEvent: (event: SwapEvent) => void;
  };
  #open: { transport: RemoteTransport; region: RemoteRegion } | null;
  #unavailableSince: number | null = null;
  #lastAttemptMs = 0;
  /** Why the last connection attempt failed (for the unavailable event). */
  #lastError = "";

  /** Wraps the first connection (opened by the caller with {@link openRdmaRegion}). */
  constructor(
    opened: { transport: RemoteTransport; region: RemoteRegion },
    target: RdmaTarget,
    options: {
      retry: RetryPolicy;
      state: SwapSharedState;
      worker: number;
      onEvent: (event: SwapEvent) => void;
    },
  ) {
    this.#open = opened;
    this.#target = target;
    this.#options = options;
  }

  read(offset: number, target: Uint8Array<ArrayBuffer>): Promise<void> {
    return this.#run((o) => o.transport.read(o.region, offset, target));
  }

  write(offset: number, source: Uint8Array<ArrayBuffer>): Promise<void> {
    return this.#run((o) => o.transport.write(o.region, offset, source));
  }

  /** One-sided RDMA cannot free server memory: the daemon's page states do the discard. */
  discard(): void {}

  async release(): Promise<void> {
    const open = this.#open;
    this.#open = null;
    if (open !== null) await open.transport.close();
  }

  async #run(
    request: (open: { transport: RemoteTransport; region: RemoteRegion }) => Promise<void>,
  ): Promise<void> {
    for (;;) {
      const open = await this.#connected();
      try {
        await request(open);
        return;
      } catch (error) {
        if (!(error instanceof TransportClosedError)) {
          throw new SwapIoError(IoErrno.EIO, (error as Error).message, { cause: error });
        }
        this.#open = null;
        // The connection is already broken; closing releases what is left of it.
        await open.transport.close().catch((closeError: Error) => {
          if (!(closeError instanceof TransportClosedError)) throw closeError;
        });
        this.#options.onEvent({
          event: "connection-lost",
          worker: this.#options.worker,
          message: error.message,
        });
      }
    }
  }

  async #connected(): Promise<{ transport: RemoteTransport; region: RemoteRegion }> {
    if (this.#open !== null) return this.#open;
    const { retry, state, worker, onEvent } = this.#options;
    const unavailable = () => new SwapIoError(IoErrno.EIO, "the memory server is unavailable");
    if (this.#unavailableSince !== null) {
      if (performance.now() - this.#lastAttemptMs < retry.retryEveryMs) throw unavailable();
      const open = await this.#attempt(performance.now());
      if (open === null) throw unavailable();
      return open;
    }
    state.setLink(worker, LinkState.RECONNECTING);
    const started = performance.now();
    let delay = retry.initialDelayMs;
    for (;;) {
      const open = await this.#attempt(started);
      if (open !== null) return open;
      if (performance.now() - started >= retry.budgetMs) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, retry.maxDelayMs);
    }
    this.#unavailableSince = performance.now();
    state.setLink(worker, LinkState.UNAVAILABLE);
    onEvent({
      event: "unavailable",
      worker,
      message: `no RDMA connection to the memory server for ${retry.budgetMs} ms ` +
        `(${this.#lastError}); swap I/O now fails with EIO; retrying every ` +
        `${retry.retryEveryMs} ms`,
    });
    throw unavailable();
  }

  async #attempt(lostAtMs: number): Promise<
    { transport: RemoteTransport; region: RemoteRegion } | null
  > {
    const { state, worker, onEvent } = this.#options;
    this.#lastAttemptMs = performance.now();
    let open: { transport: RemoteTransport; region: RemoteRegion };
    try {
      open = await openRdmaRegion(this.#target);
    } catch (error) {
      // Any failure to connect is retried (device, CM, allocation); the last one is reported.
      this.#lastError = error instanceof Error ? error.message : String(error);
      return null;
    }
    this.#open = open;
    this.#unavailableSince = null;
    state.setLink(worker, LinkState.CONNECTED);
    state.count(worker, "reconnects");
    // A new connection is a new region: whatever was stored before is gone.
    const lostPages = state.markAllLost(worker);
    if (lostPages > 0) {
      onEvent({
        event: "remote-lost",
        worker,
        lostPages,
        message: `the RDMA connection was re-established with a new region: ${lostPages} ` +
          "stored pages are lost; programs that touch them get SIGBUS",
      });
    }
    onEvent({
      event: "reconnected",
      worker,
      reattached: false,
      afterMs: Math.round(performance.now() - lostAtMs),
    });
    return open;
  }
}
