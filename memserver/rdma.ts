/**
 * The RDMA memory server: an RDMA CM listener speaking the passive one-sided contract of
 * SPIRIT.md section 2, so existing remote-swap block drivers (and spirit's RDMA transport) can
 * use it. Per connection: the client's private data `{u64 addr, u32 rkey, u64 size}` asks for
 * `size` bytes; the server allocates them from the pool (rounded up to 2 MiB; the pool uses
 * huge pages when the kernel has them), registers them for remote read and write, creates a QP
 * and accepts with `{addr, rkey, 0}`. After that the server is passive: clients READ and WRITE
 * the region directly. Each client has its own region; everything of a client is released on
 * DISCONNECTED, and on close (SIGTERM). Every client's region and QP live in a protection domain
 * of their own, so a connection can reach no other client's memory. With a secret, spirit's clients prove it in their
 * connect record and legacy clients are admitted only from allowed addresses
 * (memserver/rdma_admission.ts); refusals carry a reject record with the reason.
 * @module
 */
import { type Cidr, formatIpAddress } from "../common/ip_address.ts";
import { pointerAddress, pointerOf } from "../ffi/pointers.ts";
import {
  CompletionQueue,
  type DeviceLimits,
  type IbvContextPtr,
  MemoryRegion,
  ProtectionDomain,
  queryDevice,
  RdmaError,
} from "../ffi/ibverbs.ts";
import { type CmEvent, CmId, cmStatusText, EventChannel } from "../ffi/rdmacm.ts";
import { CONSTANTS } from "../ffi/verbs_structs.ts";
import type { MemoryPool, Region } from "./pool.ts";
import { admit, type AdmittedBy } from "./rdma_admission.ts";
import { acceptProof, ReplayGuard } from "./rdma_auth.ts";
import {
  encodeAcceptRecord,
  encodeRegionRecord,
  encodeRejectRecord,
  RDMA_REGION_ALIGN_BYTES,
  type RejectReason,
  roundRegionBytes,
} from "./rdma_private_data.ts";

/** Queue depth the contract asks for, before device limits. */
export const RDMA_QUEUE_DEPTH = 128;

/** Options of {@link serveRdma}. */
export interface RdmaServeOptions {
  /** IP literal of the RDMA interface to bind ("0.0.0.0" for all). */
  readonly hostname: string;
  /** CM port (0 picks a free one). */
  readonly port: number;
  /** Connections beyond this are rejected. */
  readonly maxClients: number;
  /** Receives one line per connection event (defaults to stderr). */
  readonly log?: (line: string) => void;
  /**
   * The per-run secret. With it, spirit clients must prove it and legacy clients (no proof)
   * are admitted only from `legacyAllow`; without it every request is admitted.
   */
  readonly secret?: Uint8Array;
  /** Peer addresses whose legacy requests are admitted when a secret is set. */
  readonly legacyAllow?: readonly Cidr[];
  /** Wall clock in ms (replay window); defaults to Date.now. */
  readonly now?: () => number;
}

/** One client as the server accounts for it. */
export interface RdmaClientStats {
  readonly clientId: number;
  readonly state: "accepting" | "connected";
  readonly requestedBytes: number;
  readonly regionBytes: number;
  readonly queueDepth: number;
  readonly rkey: number;
  readonly connectedAtMs: number | null;
  /** The client's IP address as the CM reports it (null when it reports none). */
  readonly peer: string | null;
  /** How it was admitted: proof of the secret, the legacy allow-list, or an open server. */
  readonly admittedBy: AdmittedBy;
}

/** Server-wide accounting. RDMA READ/WRITE bypass the server CPU, so bytes moved are unknown. */
export interface RdmaServerStats {
  readonly transport: "rdma";
  readonly clients: readonly RdmaClientStats[];
  readonly registeredBytes: number;
  readonly connectRequests: number;
  readonly accepted: number;
  readonly rejected: number;
  /** Rejections by reason (only reasons that occurred). */
  readonly rejectedByReason: Partial<Record<RejectReason, number>>;
  readonly disconnected: number;
}

/** A running RDMA server. */
export interface RdmaServerHandle {
  readonly addr: { readonly hostname: string; readonly port: number };
  /** Settles when the server has stopped (after {@link close}). */
  readonly finished: Promise<void>;
  /** Current accounting. */
  stats(): RdmaServerStats;
  /** Disconnects every client, releases everything and stops. Idempotent. */
  close(): Promise<void>;
}

interface Client {
  readonly clientId: number;
  readonly id: CmId;
  state: "accepting" | "connected";
  readonly requestedBytes: number;
  readonly region: Region;
  /** The client's own protection domain: its QP can reach only its own region. */
  readonly pd: ProtectionDomain;
  readonly mr: MemoryRegion;
  readonly cq: CompletionQueue;
  readonly queueDepth: number;
  connectedAtMs: number | null;
  readonly peer: string | null;
  readonly admittedBy: AdmittedBy;
}

/**
 * Starts an RDMA CM listener serving regions of `pool`. Throws RdmaError when the address
 * cannot be bound (no RDMA device: ENODEV) and LibraryLoadError without librdmacm.
 */
export function serveRdma(pool: MemoryPool, options: RdmaServeOptions): RdmaServerHandle {
  return RdmaServer.start(pool, options);
}

class RdmaServer implements RdmaServerHandle {
  #addr: { readonly hostname: string; readonly port: number };
  #finished: Promise<void> = Promise.resolve();
  #pool: MemoryPool;
  #options: RdmaServeOptions;
  #log: (line: string) => void;
  #channel: EventChannel;
  #listener: CmId;
  #clients = new Map<bigint, Client>();
  /** Limits of each device context, queried once. */
  #limits = new Map<bigint, DeviceLimits>();
  #nextClientId = 1;
  #counts = { connectRequests: 0, accepted: 0, rejected: 0, disconnected: 0 };
  #rejectedByReason: Partial<Record<RejectReason, number>> = {};
  #replay = new ReplayGuard();
  #now: () => number;
  #closing: Promise<void> | undefined;

  private constructor(pool: MemoryPool, options: RdmaServeOptions) {
    this.#pool = pool;
    this.#options = options;
    this.#log = options.log ?? ((line) => console.error(`spirit memserver (rdma): ${line}`));
    this.#now = options.now ?? Date.now;
    this.#channel = new EventChannel();
    try {
      this.#listener = CmId.create(this.#channel);
    } catch (error) {
      void this.#channel.close();
      throw error;
    }
    this.#addr = { hostname: options.hostname, port: 0 };
  }

  get addr(): { readonly hostname: string; readonly port: number } {
    return this.#addr;
  }

  get finished(): Promise<void> {
    return this.#finished;
  }

  static start(pool: MemoryPool, options: RdmaServeOptions): RdmaServer {
    const server = new RdmaServer(pool, options);
    server.#listen();
    return server;
  }

  #listen(): void {
    try {
      this.#listener.bind(this.#options.hostname, this.#options.port);
      this.#listener.listen(Math.max(this.#options.maxClients, 8));
    } catch (error) {
      this.#listener.close();
      void this.#channel.close();
      throw error;
    }
    this.#addr = { hostname: this.#options.hostname, port: this.#listener.sourcePort };
    this.#finished = this.#run();
  }

  async #run(): Promise<void> {
    for (;;) {
      let event: CmEvent | null;
      try {
        event = await this.#channel.next();
      } catch (error) {
        // Nothing more will arrive: stop accepting; close() still releases every client.
        this.#log(`RDMA CM event channel failed, no longer accepting: ${errorText(error)}`);
        return;
      }
      if (event === null) return;
      try {
        this.#handle(event);
      } catch (error) {
        this.#log(`error handling ${event.typeName}: ${errorText(error)}`);
      }
    }
  }

  #handle(event: CmEvent): void {
    const key = pointerAddress(event.id);
    switch (event.type) {
      case CONSTANTS.RDMA_CM_EVENT_CONNECT_REQUEST:
        this.#counts.connectRequests++;
        this.#onConnectRequest(event, key);
        return;
      case CONSTANTS.RDMA_CM_EVENT_ESTABLISHED: {
        const client = this.#clients.get(key);
        if (client === undefined) return;
        client.state = "connected";
        client.connectedAtMs = Date.now();
        this.#log(
          `client ${client.clientId} connected: region ${client.region.sizeBytes} bytes, ` +
            `rkey 0x${client.mr.rkey.toString(16)}, queue depth ${client.queueDepth}, ` +
            `from ${client.peer ?? "an unknown address"}, admitted by ${client.admittedBy}`,
        );
        return;
      }
      case CONSTANTS.RDMA_CM_EVENT_DISCONNECTED:
      case CONSTANTS.RDMA_CM_EVENT_CONNECT_ERROR:
      case CONSTANTS.RDMA_CM_EVENT_UNREACHABLE:
      case CONSTANTS.RDMA_CM_EVENT_REJECTED: {
        const client = this.#clients.get(key);
        if (client === undefined) return;
        this.#counts.disconnected++;
        this.#log(
          `client ${client.clientId} ${event.typeName} (${cmStatusText(event.status)}); ` +
            `releasing ${client.region.sizeBytes} bytes`,
        );
        this.#release(key, client);
        return;
      }
      case CONSTANTS.RDMA_CM_EVENT_DEVICE_REMOVAL:
        this.#log("RDMA device removed; disconnecting every client");
        for (const [k, client] of this.#clients) this.#release(k, client);
        return;
      default:
        return;
    }
  }

  #onConnectRequest(event: CmEvent, key: bigint): void {
    const id = CmId.adopt(event.id);
    const clientId = this.#nextClientId++;
    const peerAddress = id.peerAddress;
    const peer = peerAddress === null ? null : formatIpAddress(peerAddress);
    const refuse = (reason: RejectReason, detail: string) => {
      this.#counts.rejected++;
      this.#rejectedByReason[reason] = (this.#rejectedByReason[reason] ?? 0) + 1;
      const from = peer ?? "an unknown address";
      this.#log(
        reason === "probe"
          ? `answered a probe from ${from}`
          : `client ${clientId} from ${from} rejected (${reason}): ${detail}`,
      );
      // Both steps run even if the first fails (a half-accepted id may refuse the reject).
      const record = encodeRejectRecord(reason, this.#now());
      for (const step of [() => id.reject(record), () => id.close()]) {
        try {
          step();
        } catch (error) {
          this.#log(`client ${clientId}: ${errorText(error)}`);
        }
      }
    };
    const admission = admit(event.privateData, { peer: peerAddress, nowMs: this.#now() }, {
      ...(this.#options.secret === undefined ? {} : { secret: this.#options.secret }),
      legacyAllow: this.#options.legacyAllow ?? [],
      port: this.#addr.port,
      replay: this.#replay,
    });
    if (!admission.admitted) return refuse(admission.reason, admission.detail);
    const requestedBytes = admission.sizeBytes;
    if (this.#clients.size >= this.#options.maxClients) {
      return refuse(
        "too-many-clients",
        `already serving ${this.#clients.size} clients (--max-connections)`,
      );
    }
    const context = id.verbs;
    if (context === null) {
      return refuse("server-error", "the connection has no device context (id->verbs)");
    }
    const regionBytes = roundRegionBytes(requestedBytes);
    let region: Region;
    try {
      region = this.#pool.allocate(regionBytes, { owner: `rdma-${clientId}` });
    } catch (error) {
      return refuse("no-memory", errorText(error));
    }
    const undo: (() => void)[] = [() => this.#pool.free(region.id)];
    try {
      const limits = this.#deviceLimits(context);
      const pd = new ProtectionDomain(context);
      undo.push(() => pd.close());
      const pointer = region.pointer ?? pointerOf(region.bytes);
      if (pointer === null) throw new Error("region has no address");
      const mr = new MemoryRegion(pd, { pointer, lengthBytes: region.sizeBytes }, {
        localWrite: true,
        remoteRead: true,
        remoteWrite: true,
      });
      undo.push(() => mr.close());
      const queueDepth = Math.max(1, Math.min(RDMA_QUEUE_DEPTH, limits.maxQpWr));
      const cq = new CompletionQueue(context, {
        entries: Math.max(1, Math.min(queueDepth, limits.maxCqe)),
      });
      undo.push(() => cq.close());
      id.createQp(pd, {
        sendCq: cq.pointer,
        recvCq: cq.pointer,
        maxSendWr: queueDepth,
        maxRecvWr: queueDepth,
      });
      // The CM reports the request from our side: responderResources is the client's
      // initiator depth (its outstanding RDMA READs), which we must serve, up to the device.
      const granted = { addr: mr.address, rkey: mr.rkey, sizeBytes: 0n };
      const secret = this.#options.secret;
      const proof = admission.connectRecord === null || secret === undefined
        ? undefined
        : acceptProof(secret, admission.connectRecord, encodeRegionRecord(granted));
      id.accept({
        privateData: encodeAcceptRecord(granted, proof),
        responderResources: Math.max(
          1,
          Math.min(event.responderResources, limits.maxQpRdAtom, 255),
        ),
        initiatorDepth: Math.min(event.initiatorDepth, limits.maxQpInitRdAtom, 255),
      });
      this.#counts.accepted++;
      this.#clients.set(key, {
        clientId,
        id,
        state: "accepting",
        requestedBytes,
        region,
        pd,
        mr,
        cq,
        queueDepth,
        connectedAtMs: null,
        peer,
        admittedBy: admission.by,
      });
    } catch (error) {
      // Reject and destroy the id (and its QP) first: a CQ or PD in use cannot be destroyed.
      refuse("server-error", errorText(error));
      for (const step of undo.reverse()) {
        try {
          step();
        } catch (cleanupError) {
          this.#log(`client ${clientId}: cleanup failed: ${errorText(cleanupError)}`);
        }
      }
    }
  }

  #deviceLimits(context: IbvContextPtr): DeviceLimits {
    const key = pointerAddress(context);
    let limits = this.#limits.get(key);
    if (limits === undefined) {
      limits = queryDevice(context);
      this.#limits.set(key, limits);
    }
    return limits;
  }

  #release(key: bigint, client: Client): void {
    this.#clients.delete(key);
    const steps = [
      () => client.id.close(), // destroys the QP first, then the id
      () => client.cq.close(),
      () => client.mr.close(),
      () => client.pd.close(),
      () => void this.#pool.free(client.region.id),
    ];
    for (const step of steps) {
      try {
        step();
      } catch (error) {
        this.#log(`client ${client.clientId}: teardown step failed: ${errorText(error)}`);
      }
    }
  }

  stats(): RdmaServerStats {
    const clients = [...this.#clients.values()].map((c) => ({
      clientId: c.clientId,
      state: c.state,
      requestedBytes: c.requestedBytes,
      regionBytes: c.region.sizeBytes,
      queueDepth: c.queueDepth,
      rkey: c.mr.rkey,
      connectedAtMs: c.connectedAtMs,
      peer: c.peer,
      admittedBy: c.admittedBy,
    }));
    return {
      transport: "rdma",
      clients,
      registeredBytes: clients.reduce((sum, c) => sum + c.regionBytes, 0),
      ...this.#counts,
      rejectedByReason: { ...this.#rejectedByReason },
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    for (const [key, client] of this.#clients) {
      const error = client.id.disconnect();
      if (error !== undefined && !(error instanceof RdmaError)) throw error;
      this.#counts.disconnected++;
      this.#release(key, client);
    }
    this.#listener.close();
    this.#limits.clear();
    await this.#channel.close();
    await this.#finished;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Region granularity, re-exported for callers that size pools. */
export { RDMA_REGION_ALIGN_BYTES };
