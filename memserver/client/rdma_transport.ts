/**
 * RemoteTransport over RDMA: one RC connection per region, speaking the passive one-sided
 * contract of the RDMA memory server (`memserver/rdma.ts`, SPIRIT.md section 2). Pages move with
 * one-sided RDMA READ and WRITE through a registered staging buffer, posted in batches as one
 * chained `ibv_post_send`; completions are polled through the context's ops table (a short
 * spin, then a completion-channel wait that does not block Deno's event loop). With a secret the
 * connect request carries a proof of it and the server must prove it back (rdma_auth.ts).
 * @module
 */
import { pointerOf } from "../../ffi/pointers.ts";
import {
  CompletionChannel,
  CompletionQueue,
  listRdmaDevices,
  MemoryRegion,
  ProtectionDomain,
  queryDevice,
  RdmaError,
  wcStatusText,
} from "../../ffi/ibverbs.ts";
import { FdWaiter } from "../../ffi/rdma_libc.ts";
import { type CmEvent, cmEventName, CmId, cmStatusText, EventChannel } from "../../ffi/rdmacm.ts";
import { type CallPath, type Completion, type RdmaOp, SendQueue } from "../../ffi/verbs_ops.ts";
import { CONSTANTS } from "../../ffi/verbs_structs.ts";
import { signConnectRecord, verifyAcceptProof } from "../rdma_auth.ts";
import {
  decodeAcceptRecord,
  decodeRejectRecord,
  describeReject,
  encodeRegionRecord,
  type RejectRecord,
} from "../rdma_private_data.ts";
import {
  type RemoteRegion,
  type RemoteTransport,
  TransportClosedError,
  type TransportCounters,
} from "./transport.ts";

/** Where the RDMA memory server listens (an IP literal of its RDMA interface, CM port). */
export interface RdmaEndpoint {
  readonly hostname: string;
  readonly port: number;
  /**
   * The per-run secret (the token file's content). With it every connection proves it and
   * requires the server's proof back; without it the legacy contract is spoken.
   */
  readonly token?: Uint8Array;
}

/** Tuning of {@link connectRdma}. */
export interface RdmaTransportOptions {
  /** Work requests in flight per connection (default 128, capped by the device). */
  readonly queueDepth?: number;
  /** Registered staging buffer per connection (default 1 MiB). */
  readonly stagingBytes?: number;
  /** Address and route resolution timeout (default 2000 ms). */
  readonly resolveTimeoutMs?: number;
  /** How long to busy-poll the CQ before sleeping on the completion channel (default 20 us). */
  readonly spinMicros?: number;
  /** How ops-table verbs are called (default: libffi when available; see ffi/verbs_ops.ts). */
  readonly callPath?: CallPath;
  /** IP literal of the local RDMA interface to connect from (default: the route's). */
  readonly sourceAddress?: string;
}

type ResolvedOptions = Required<Omit<RdmaTransportOptions, "callPath" | "sourceAddress">> & {
  readonly callPath?: CallPath;
  readonly sourceAddress?: string;
};

const DEFAULTS = {
  queueDepth: 128,
  stagingBytes: 1 << 20,
  resolveTimeoutMs: 2000,
  spinMicros: 20,
} as const;

/**
 * A transport that opens one RDMA connection per allocated region. Checks nothing on the
 * network until the first `allocate`; throws LibraryLoadError when librdmacm is missing.
 */
export function connectRdma(
  endpoint: RdmaEndpoint,
  options: RdmaTransportOptions = {},
): Promise<RdmaTransport> {
  return Promise.resolve(new RdmaTransport(endpoint, { ...DEFAULTS, ...options }));
}

/** A RemoteTransport over RDMA (use {@link connectRdma}). */
export class RdmaTransport implements RemoteTransport {
  readonly kind = "rdma";
  readonly maxTransferBytes: number;
  readonly maxBatchPages: number;
  readonly #endpoint: RdmaEndpoint;
  readonly #options: ResolvedOptions;
  readonly #connections = new Map<number, RdmaConnection>();
  readonly #counters: TransportCounters = {
    requests: 0,
    readBytes: 0,
    writeBytes: 0,
    inFlight: 0,
    maxInFlight: 0,
  };
  #nextRegionId = 1;
  #closed = false;

  /** @internal Use {@link connectRdma}. */
  constructor(endpoint: RdmaEndpoint, options: ResolvedOptions) {
    this.#endpoint = endpoint;
    this.#options = options;
    this.maxTransferBytes = options.stagingBytes;
    this.maxBatchPages = options.queueDepth;
  }

  async allocate(sizeBytes: number): Promise<RemoteRegion> {
    this.#checkOpen();
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) {
      throw new RangeError(`Invalid region size ${sizeBytes}: expected a positive integer`);
    }
    const connection = await RdmaConnection.open({
      endpoint: this.#endpoint,
      sizeBytes,
      options: this.#options,
    });
    const id = this.#nextRegionId++;
    this.#connections.set(id, connection);
    return { id, sizeBytes };
  }

  async free(region: RemoteRegion): Promise<void> {
    const connection = this.#connections.get(region.id);
    if (connection === undefined) return;
    this.#connections.delete(region.id);
    await connection.close();
  }

  read(region: RemoteRegion, offset: number, target: Uint8Array): Promise<void> {
    return this.#transfer("read", region, [offset], [target]);
  }

  write(region: RemoteRegion, offset: number, source: Uint8Array): Promise<void> {
    return this.#transfer("write", region, [offset], [source]);
  }

  readPages(
    region: RemoteRegion,
    offsets: readonly number[],
    targets: readonly Uint8Array[],
  ): Promise<void> {
    return this.#transfer("read", region, offsets, targets);
  }

  writePages(
    region: RemoteRegion,
    offsets: readonly number[],
    sources: readonly Uint8Array[],
  ): Promise<void> {
    return this.#transfer("write", region, offsets, sources);
  }

  async #transfer(
    kind: "read" | "write",
    region: RemoteRegion,
    offsets: readonly number[],
    buffers: readonly Uint8Array[],
  ): Promise<void> {
    this.#checkOpen();
    if (offsets.length !== buffers.length) {
      throw new RangeError(`${offsets.length} offsets but ${buffers.length} buffers`);
    }
    const connection = this.#connections.get(region.id);
    if (connection === undefined) throw new RangeError(`Unknown region ${region.id}`);
    let bytes = 0;
    offsets.forEach((offset, i) => {
      const length = buffers[i]?.length ?? 0;
      if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > region.sizeBytes) {
        throw new RangeError(
          `Range ${offset}+${length} is outside region ${region.id} (${region.sizeBytes} bytes)`,
        );
      }
      bytes += length;
    });
    const c = this.#counters;
    c.requests++;
    c.inFlight++;
    c.maxInFlight = Math.max(c.maxInFlight, c.inFlight);
    try {
      await connection.transfer(kind, offsets, buffers);
      if (kind === "read") c.readBytes += bytes;
      else c.writeBytes += bytes;
    } finally {
      c.inFlight--;
    }
  }

  /** One-sided RDMA bypasses the server's CPU: it keeps no per-request statistics. */
  serverStats(): Promise<unknown> {
    return Promise.resolve({
      transport: "rdma",
      note: "one-sided RDMA: the server sees connections, not requests",
    });
  }

  counters(): TransportCounters {
    return { ...this.#counters };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const connections = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(connections.map((c) => c.close()));
  }

  #checkOpen(): void {
    if (this.#closed) throw new TransportClosedError("The RDMA transport is closed");
  }
}

/** One RC connection to the memory server and the region it was granted. */
class RdmaConnection {
  readonly #channel: EventChannel;
  readonly #id: CmId;
  readonly #pd: ProtectionDomain;
  readonly #compChannel: CompletionChannel;
  readonly #cq: CompletionQueue;
  readonly #staging: Uint8Array;
  readonly #mr: MemoryRegion;
  readonly #queue: SendQueue;
  readonly #remoteAddress: bigint;
  readonly #cqWaiter = new FdWaiter();
  readonly #spinMicros: number;
  readonly #watcher: Promise<void>;
  #lock: Promise<void> = Promise.resolve();
  #nextWrId = 1n;
  #broken: Error | undefined;
  #disconnected = false;
  #closing: Promise<void> | undefined;

  private constructor(parts: {
    channel: EventChannel;
    id: CmId;
    pd: ProtectionDomain;
    compChannel: CompletionChannel;
    cq: CompletionQueue;
    staging: Uint8Array;
    mr: MemoryRegion;
    queue: SendQueue;
    remoteAddress: bigint;
    spinMicros: number;
  }) {
    this.#channel = parts.channel;
    this.#id = parts.id;
    this.#pd = parts.pd;
    this.#compChannel = parts.compChannel;
    this.#cq = parts.cq;
    this.#staging = parts.staging;
    this.#mr = parts.mr;
    this.#queue = parts.queue;
    this.#remoteAddress = parts.remoteAddress;
    this.#spinMicros = parts.spinMicros;
    this.#watcher = this.#watch();
  }

  static async open(
    args: {
      endpoint: RdmaEndpoint;
      sizeBytes: number;
      options: ResolvedOptions;
      signal?: AbortSignal;
    },
  ): Promise<RdmaConnection> {
    const { endpoint, sizeBytes, options, signal } = args;
    const where = `${endpoint.hostname}:${endpoint.port}`;
    const undo: (() => void | Promise<void>)[] = [];
    const channel = new EventChannel();
    undo.push(() => channel.close());
    // Aborting interrupts the channel: a pending wait for a CM event then ends with an error.
    const abort = () => channel.interrupt();
    signal?.addEventListener("abort", abort, { once: true });
    undo.push(() => signal?.removeEventListener("abort", abort));
    try {
      const id = CmId.create(channel);
      undo.push(() => id.close());
      id.resolveAddress(endpoint.hostname, endpoint.port, {
        timeoutMs: options.resolveTimeoutMs,
        ...(options.sourceAddress === undefined ? {} : { sourceAddress: options.sourceAddress }),
      });
      await expectEvent(channel, CONSTANTS.RDMA_CM_EVENT_ADDR_RESOLVED, where);
      id.resolveRoute({ timeoutMs: options.resolveTimeoutMs });
      await expectEvent(channel, CONSTANTS.RDMA_CM_EVENT_ROUTE_RESOLVED, where);
      const context = id.verbs;
      if (context === null) throw new Error(`no RDMA device context for ${where}`);
      const limits = queryDevice(context);
      const depth = Math.max(1, Math.min(options.queueDepth, limits.maxQpWr, limits.maxCqe));
      const pd = new ProtectionDomain(context);
      undo.push(() => pd.close());
      const compChannel = new CompletionChannel(context);
      undo.push(() => compChannel.close());
      const cq = new CompletionQueue(context, { entries: depth, channel: compChannel });
      undo.push(() => cq.close());
      const qp = id.createQp(pd, {
        sendCq: cq.pointer,
        recvCq: cq.pointer,
        maxSendWr: depth,
        maxRecvWr: 1,
      });
      undo.push(() => qp.close()); // before its CQ and PD go
      const staging = new Uint8Array(new ArrayBuffer(options.stagingBytes)); // registered: never moves
      const stagingPointer = pointerOf(staging);
      if (stagingPointer === null) throw new Error("staging buffer has no address");
      const mr = new MemoryRegion(pd, {
        pointer: stagingPointer,
        lengthBytes: staging.length,
      }, { localWrite: true });
      undo.push(() => mr.close());
      const rdAtom = Math.min(limits.maxQpInitRdAtom, limits.maxQpRdAtom, 16);
      const request = connectRequest(endpoint, sizeBytes);
      id.connect({ privateData: request, responderResources: rdAtom, initiatorDepth: rdAtom });
      const established = await expectEvent(channel, CONSTANTS.RDMA_CM_EVENT_ESTABLISHED, where);
      undo.push(() => void id.disconnect());
      signal?.removeEventListener("abort", abort);
      const accepted = decodeAcceptRecord(established.privateData);
      if (endpoint.token !== undefined) checkServerProof(endpoint.token, where, request, accepted);
      const granted = accepted.region;
      const queue = new SendQueue({
        context,
        qp: qp.pointer,
        cq,
        depth,
        local: mr,
        rkey: granted.rkey,
        ...(options.callPath === undefined ? {} : { path: options.callPath }),
      });
      return new RdmaConnection({
        channel,
        id,
        pd,
        compChannel,
        cq,
        staging,
        mr,
        queue,
        remoteAddress: granted.addr,
        spinMicros: options.spinMicros,
      });
    } catch (error) {
      throw await undoAll(undo, error);
    }
  }

  /** Watches CM events; the server going away marks the connection broken. */
  async #watch(): Promise<void> {
    for (;;) {
      let event: CmEvent | null;
      try {
        event = await this.#channel.next();
      } catch (error) {
        this.#broken ??= new TransportClosedError("RDMA CM event channel failed", { cause: error });
        return;
      }
      if (event === null) return;
      if (
        event.type === CONSTANTS.RDMA_CM_EVENT_DISCONNECTED ||
        event.type === CONSTANTS.RDMA_CM_EVENT_DEVICE_REMOVAL
      ) {
        this.#disconnected = true;
        this.#broken ??= new TransportClosedError(`RDMA connection lost: ${event.typeName}`);
        return;
      }
    }
  }

  /** Serializes transfers on this connection (one batch in flight at a time). */
  transfer(
    kind: "read" | "write",
    offsets: readonly number[],
    buffers: readonly Uint8Array[],
  ): Promise<void> {
    const run = this.#lock.then(() => this.#transferNow(kind, offsets, buffers));
    // The next transfer waits for this one either way; its error reaches this caller via `run`.
    this.#lock = run.then(() => undefined, () => undefined);
    return run;
  }

  async #transferNow(
    kind: "read" | "write",
    offsets: readonly number[],
    buffers: readonly Uint8Array[],
  ): Promise<void> {
    // Split into pieces that fit the staging buffer, then into batches of depth and staging.
    const pieces: { remote: number; buffer: Uint8Array }[] = [];
    offsets.forEach((offset, i) => {
      const buffer = buffers[i] ?? new Uint8Array(0);
      for (let at = 0; at < buffer.length; at += this.#staging.length) {
        pieces.push({
          remote: offset + at,
          buffer: buffer.subarray(at, Math.min(buffer.length, at + this.#staging.length)),
        });
      }
    });
    let next = 0;
    while (next < pieces.length) {
      if (this.#broken !== undefined) throw this.#broken;
      const batch: { piece: (typeof pieces)[number]; stagingOffset: number }[] = [];
      let used = 0;
      while (next < pieces.length && batch.length < this.#queue.depth) {
        const piece = pieces[next];
        if (piece === undefined || used + piece.buffer.length > this.#staging.length) break;
        batch.push({ piece, stagingOffset: used });
        used += piece.buffer.length;
        next++;
      }
      const ops: RdmaOp[] = batch.map(({ piece, stagingOffset }) => {
        if (kind === "write") this.#staging.set(piece.buffer, stagingOffset);
        return {
          kind,
          localOffset: stagingOffset,
          lengthBytes: piece.buffer.length,
          remoteAddress: this.#remoteAddress + BigInt(piece.remote),
        };
      });
      const firstWrId = this.#nextWrId;
      this.#nextWrId += BigInt(ops.length);
      this.#queue.post(ops, firstWrId);
      await this.#complete(ops.length);
      if (kind === "read") {
        for (const { piece, stagingOffset } of batch) {
          piece.buffer.set(
            this.#staging.subarray(stagingOffset, stagingOffset + piece.buffer.length),
          );
        }
      }
    }
  }

  /** Collects `count` completions; the first failed one fails the transfer. */
  async #complete(count: number): Promise<void> {
    let done = 0;
    let failed: Completion | undefined;
    let spinUntil = performance.now() + this.#spinMicros / 1000;
    while (done < count) {
      let completions = this.#queue.poll();
      if (completions.length === 0 && performance.now() < spinUntil) continue;
      if (completions.length === 0) {
        // Arm, then poll again: a completion that raced the arming is not lost.
        this.#queue.requestNotify();
        completions = this.#queue.poll();
        if (completions.length === 0) {
          const readable = await this.#cqWaiter.wait(this.#compChannel.fd);
          if (!readable) throw new TransportClosedError("The RDMA connection is closing");
          this.#compChannel.getEvent();
          this.#cq.noteEvent();
          spinUntil = performance.now() + this.#spinMicros / 1000;
          continue;
        }
      }
      for (const completion of completions) {
        done++;
        if (completion.status !== CONSTANTS.IBV_WC_SUCCESS) failed ??= completion;
      }
    }
    if (failed !== undefined) {
      this.#broken = new TransportClosedError(
        `RDMA work request failed: ${wcStatusText(failed.status)} (status ${failed.status})`,
      );
      throw this.#broken;
    }
  }

  /** Disconnects and releases everything. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    // Pending transfers fail: the one waiting for completions is woken, queued ones see #broken.
    // Work requests still on the NIC are flushed when the QP is destroyed, before the MR goes.
    this.#broken ??= new TransportClosedError("The RDMA connection was closed");
    await this.#cqWaiter.close();
    await this.#lock;
    if (!this.#disconnected) {
      const error = this.#id.disconnect();
      if (error === undefined) {
        // Wait (bounded) for our DISCONNECTED so the CM is done with the id.
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          this.#watcher,
          new Promise<void>((resolve) => timer = setTimeout(resolve, 2000)),
        ]);
        clearTimeout(timer);
      } else if (!(error instanceof RdmaError)) {
        throw error;
      }
    }
    this.#id.close();
    this.#cq.close();
    this.#compChannel.close();
    this.#mr.close();
    this.#pd.close();
    await this.#channel.close();
    await this.#watcher;
  }
}

/**
 * Runs cleanup steps in reverse order, every one even when some fail, and returns the error to
 * throw: the original, or an AggregateError with the cleanup failures after it.
 */
async function undoAll(
  steps: readonly (() => void | Promise<void>)[],
  original: unknown,
): Promise<unknown> {
  const failures: unknown[] = [];
  for (const step of [...steps].reverse()) {
    try {
      await step();
    } catch (cleanupError) {
      failures.push(cleanupError);
    }
  }
  if (failures.length === 0) return original;
  return new AggregateError([original, ...failures], `${String(original)} (cleanup also failed)`);
}

/** The connect private data: spirit's signed record with a token, else the legacy record. */
function connectRequest(endpoint: RdmaEndpoint, sizeBytes: number): Uint8Array {
  if (endpoint.token === undefined) {
    return encodeRegionRecord({ addr: 0n, rkey: 0, sizeBytes: BigInt(sizeBytes) });
  }
  return signConnectRecord(endpoint.token, {
    port: endpoint.port,
    sizeBytes: BigInt(sizeBytes),
    timestampMs: BigInt(Date.now()),
    nonce: crypto.getRandomValues(new Uint8Array(8)),
  });
}

/** Throws RdmaAuthError unless the server proved that it knows the secret. */
function checkServerProof(
  token: Uint8Array,
  where: string,
  connectRecord: Uint8Array,
  accepted: ReturnType<typeof decodeAcceptRecord>,
): void {
  if (accepted.proof === null) {
    throw new RdmaAuthError(
      `RDMA memory server at ${where} accepted without proving the secret: it runs without ` +
        "--token-file (or is not the memory server this client expects); refusing to use it",
    );
  }
  const exchange = { connectRecord, regionBytes: accepted.regionBytes, presented: accepted.proof };
  if (!verifyAcceptProof(token, exchange)) {
    throw new RdmaAuthError(
      `RDMA memory server at ${where} proved another secret than this client's ` +
        "(check --token-file on both sides); refusing to use it",
    );
  }
}

/** The memory server did not prove that it knows the secret; the connection was closed. */
export class RdmaAuthError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "RdmaAuthError";
  }
}

/**
 * A CM step ended with an unexpected event (REJECTED, UNREACHABLE, ADDR_ERROR, ...). A reject by
 * a spirit memory server carries its reason (`rejection`), and the message explains it.
 */
export class RdmaConnectError extends Error {
  readonly eventType: number;
  readonly status: number;
  /** The server's reject record, when the event is a reject that carried one. */
  readonly rejection: RejectRecord | null;
  constructor(where: string, expected: number, event: CmEvent) {
    const rejection = event.type === CONSTANTS.RDMA_CM_EVENT_REJECTED
      ? decodeRejectRecord(event.privateData)
      : null;
    const data = event.privateData.length > 0 ? `, ${event.privateData.length} bytes of data` : "";
    super(
      rejection === null
        ? `RDMA connection to ${where}: expected ${cmEventName(expected)}, got ` +
          `${event.typeName} (${cmStatusText(event.status)}${data})`
        : `RDMA memory server at ${where} refused the connection (${rejection.reason}): ` +
          describeReject(rejection, Date.now()),
    );
    this.name = "RdmaConnectError";
    this.eventType = event.type;
    this.status = event.status;
    this.rejection = rejection;
  }
}

async function expectEvent(channel: EventChannel, type: number, where: string): Promise<CmEvent> {
  const event = await channel.next();
  if (event === null) throw new TransportClosedError(`RDMA connection to ${where} was closed`);
  if (event.type !== type) throw new RdmaConnectError(where, type, event);
  return event;
}

/** IB CM reject reason "consumer reject": a listener received the request and refused it. */
const CONSUMER_REJECT = 28;

/** Whether a memory server offers RDMA at `endpoint`, or why not. */
export type RdmaOffer = { readonly offered: true } | {
  readonly offered: false;
  readonly reason: string;
};

/**
 * Asks whether an RDMA memory server listens at `endpoint` without taking memory from it: it
 * connects asking for 0 bytes, which the server refuses (a consumer reject) after the request
 * reached its listener. No local device, an address/route error, a reject by the CM itself
 * (no listener on the port) or no answer within `timeoutMs` all mean "not offered".
 */
export async function probeRdmaServer(
  endpoint: RdmaEndpoint,
  options: { timeoutMs?: number } = {},
): Promise<RdmaOffer> {
  const local = listRdmaDevices();
  if (!local.available) return { offered: false, reason: local.reason };
  const timeoutMs = options.timeoutMs ?? 3000;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const connection = await RdmaConnection.open({
      endpoint,
      sizeBytes: 0,
      options: { ...DEFAULTS, queueDepth: 1, stagingBytes: 4096 },
      signal: controller.signal,
    });
    await connection.close();
    return { offered: true }; // a server that accepts empty regions also speaks RDMA
  } catch (error) {
    if (error instanceof RdmaConnectError) {
      if (
        error.eventType === CONSTANTS.RDMA_CM_EVENT_REJECTED && error.status === CONSUMER_REJECT
      ) {
        return { offered: true };
      }
      return { offered: false, reason: error.message };
    }
    if (error instanceof TransportClosedError && controller.signal.aborted) {
      return {
        offered: false,
        reason: `no RDMA answer from ${endpoint.hostname}:${endpoint.port} in ${timeoutMs} ms`,
      };
    }
    if (error instanceof RdmaError || error instanceof RangeError) {
      return { offered: false, reason: error.message };
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
