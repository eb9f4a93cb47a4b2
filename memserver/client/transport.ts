/**
 * The interface between the far-memory client and a memory server. The page cache depends only
 * on this; tcp_transport.ts implements it over TCP and an RDMA implementation can sit beside it.
 * @module
 */

/** A region of remote memory owned by this client. */
export interface RemoteRegion {
  readonly id: number;
  /** Size in bytes as granted by the server (may be rounded up). */
  readonly sizeBytes: number;
}

/** Client-side counters of a transport. */
export interface TransportCounters {
  /** Requests sent (a batch counts once). */
  requests: number;
  /** Data bytes read from and written to remote memory. */
  readBytes: number;
  writeBytes: number;
  /** Requests currently awaiting their reply, and the most ever at once. */
  inFlight: number;
  maxInFlight: number;
}

/**
 * A connected, authenticated transport to one memory server. Every method may be called many
 * times without awaiting (requests are pipelined); promises settle in any order the transport
 * chooses. A target or source buffer belongs to the transport until its promise settles.
 */
export interface RemoteTransport {
  /** "tcp", "rdma", ... */
  readonly kind: string;
  /** Largest byte count of one read, write or batch. */
  readonly maxTransferBytes: number;
  /** Largest number of pages in one batch. */
  readonly maxBatchPages: number;
  /** Allocates a zeroed region of at least `sizeBytes`. */
  allocate(sizeBytes: number): Promise<RemoteRegion>;
  /** Frees a region. */
  free(region: RemoteRegion): Promise<void>;
  /** Reads `target.length` bytes at `offset` of `region` into `target`. */
  read(region: RemoteRegion, offset: number, target: Uint8Array): Promise<void>;
  /** Writes `source` at `offset` of `region`. */
  write(region: RemoteRegion, offset: number, source: Uint8Array): Promise<void>;
  /** Reads equal-sized pages: `targets[i]` receives the bytes at `offsets[i]`. */
  readPages(
    region: RemoteRegion,
    offsets: readonly number[],
    targets: readonly Uint8Array[],
  ): Promise<void>;
  /** Writes equal-sized pages: `sources[i]` goes to `offsets[i]`. */
  writePages(
    region: RemoteRegion,
    offsets: readonly number[],
    sources: readonly Uint8Array[],
  ): Promise<void>;
  /** The server's statistics (JSON as the server reports them), when the transport supports it. */
  serverStats(): Promise<unknown>;
  /** Client-side counters. */
  counters(): TransportCounters;
  /** Closes the connection; pending requests fail. Idempotent. */
  close(): Promise<void>;
}

/** Where and how to reach a memory server. */
export interface TransportEndpoint {
  hostname: string;
  port: number;
  /** Shared secret; omit when the server runs without a token file. */
  token?: Uint8Array;
}

/** The server answered a request with an error status. */
export class RemoteError extends Error {
  readonly status: number;
  readonly statusName: string;
  /** Creates the error for `operation` failing with `status`. */
  constructor(operation: string, status: { code: number; name: string; message: string }) {
    super(`Memory server refused ${operation}: ${status.name}: ${status.message}`);
    this.name = "RemoteError";
    this.status = status.code;
    this.statusName = status.name;
  }
}

/** The connection to the memory server was lost or closed. */
export class TransportClosedError extends Error {
  /** Creates the error; `cause` is the underlying failure, if any. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TransportClosedError";
  }
}

export { parseHostPort } from "../../common/host_port.ts";
