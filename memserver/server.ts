/**
 * Memory server logic independent of the transport: authentication, regions, bounds checks and
 * per-client statistics. A transport (tcp.ts) decodes frames and hands them to a Session, which
 * answers with a Reply; it never touches sockets itself.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { encodeHex } from "../common/hex.ts";
import {
  batchMetaBytes,
  encodeErrorMessage,
  encodeHelloResponse,
  encodeSwapOpenResponse,
  FLAG_RESPONSE,
  type FrameHeader,
  MAX_BODY_BYTES,
  Op,
  parseBatchHeader,
  parseDiscardRequest,
  parseHelloRequest,
  parseReadRequest,
  parseSwapOpenRequest,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  Status,
  type StatusCode,
  SWAP_PROTOCOL_VERSION,
} from "./protocol.ts";
import { type MemoryPool, PoolExhaustedError, type PoolStats } from "./pool.ts";
import { SWAP_PAGE_BYTES, SwapPageStore, SwapRangeError, SwapRegion } from "./swap_store.ts";

/** Statistics of one client connection. */
export interface ClientStats {
  clientId: number;
  remote: string;
  authenticated: boolean;
  connectedAtMs: number;
  /** Frame bytes received from the client and sent to it. */
  bytesIn: number;
  bytesOut: number;
  /** Data bytes read from and written to regions. */
  readBytes: number;
  writeBytes: number;
  ops: number;
  readOps: number;
  writeOps: number;
  errors: number;
  regions: number;
  allocatedBytes: number;
  /** Swap regions this client is attached to, and the bytes of data they hold. */
  swapRegions: number;
  swapStoredBytes: number;
}

/** One sparse swap region as STATS reports it. */
export interface SwapRegionStats {
  regionId: number;
  sizeBytes: number;
  /** Bytes of data stored (written and not discarded): what the region costs the pool. */
  storedBytes: number;
  /** Client ids of the connections attached to it (empty while detached). */
  clients: number[];
  createdAtMs: number;
  /** When the last connection went away (null while attached); freed `swapGraceMs` later. */
  detachedAtMs: number | null;
}

/** Swap regions of the whole server. */
export interface SwapStats {
  regions: SwapRegionStats[];
  /** Data bytes over all swap regions. */
  storedBytes: number;
  /** Pool bytes held in swap slabs (stored bytes plus free slots of partly used slabs). */
  slabBytes: number;
  /** How long a detached swap region is kept for its client to reconnect. */
  graceMs: number;
}

/** Statistics of the whole server. */
export interface ServerStats {
  pool: PoolStats;
  swap: SwapStats;
  clients: ClientStats[];
  /** Totals of clients that have disconnected. */
  closedClients: number;
  closedBytesIn: number;
  closedBytesOut: number;
}

/**
 * A reply to one request: a status and a body. Body parts are views (into regions or fresh
 * buffers) that the transport sends before handling the next frame of the connection.
 */
export interface Reply {
  status: StatusCode;
  regionId: number;
  offset: number;
  body: readonly Uint8Array[];
  bodyBytes: number;
  /** Close the connection after sending this reply. */
  close: boolean;
}

/** Options of {@linkcode MemoryServer}. */
export interface MemoryServerOptions {
  /** Shared secret clients must present; undefined accepts any client. */
  token?: Uint8Array;
  /** Clock for connection timestamps (defaults to Date.now). */
  nowMs?: () => number;
  /** How long a swap region without connections is kept (default 60 s). */
  swapGraceMs?: number;
}

/** Default time a detached swap region waits for its client to reconnect. */
export const DEFAULT_SWAP_GRACE_MS = 60_000;
/** Swap region ids start here, apart from pool region ids. */
const SWAP_REGION_ID_BASE = 0x4000_0000;

/** A swap region and the connections attached to it. */
interface SwapEntry {
  readonly region: SwapRegion;
  readonly keyDigest: string;
  readonly sessions: Set<Session>;
  readonly createdAtMs: number;
  detachedAtMs: number | null;
}

/** A SWAP_OPEN the server refuses, with the status to answer. */
class SwapOpenRefused extends Error {
  readonly status: StatusCode;
  constructor(status: StatusCode, message: string) {
    super(message);
    this.status = status;
  }
}

function digest(bytes: Uint8Array): Uint8Array {
  return createHash("sha256").update(bytes).digest();
}

/** Constant-time comparison of two secrets of any length (compares SHA-256 digests). */
export function tokensEqual(expectedDigest: Uint8Array, presented: Uint8Array): boolean {
  return timingSafeEqual(expectedDigest, digest(presented));
}

/** The memory server: a pool and its client sessions. */
export class MemoryServer {
  readonly pool: MemoryPool;
  readonly swapStore: SwapPageStore;
  readonly swapGraceMs: number;
  readonly #tokenDigest: Uint8Array | undefined;
  readonly #sessions = new Set<Session>();
  readonly #nowMs: () => number;
  readonly #swap = new Map<number, SwapEntry>();
  readonly #swapByKey = new Map<string, SwapEntry>();
  #nextSwapId = SWAP_REGION_ID_BASE;
  #nextClientId = 1;
  #closedClients = 0;
  #closedBytesIn = 0;
  #closedBytesOut = 0;

  /** Creates a server over `pool`. */
  constructor(pool: MemoryPool, options: MemoryServerOptions = {}) {
    this.pool = pool;
    this.#tokenDigest = options.token === undefined ? undefined : digest(options.token);
    this.#nowMs = options.nowMs ?? Date.now;
    this.swapStore = new SwapPageStore(pool);
    this.swapGraceMs = options.swapGraceMs ?? DEFAULT_SWAP_GRACE_MS;
  }

  /** True when clients must present a token. */
  get requiresToken(): boolean {
    return this.#tokenDigest !== undefined;
  }

  /** Number of open sessions. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Opens a session for a new connection from `remote`. */
  openSession(remote: string): Session {
    const session = new Session(this, {
      clientId: this.#nextClientId++,
      remote,
      nowMs: this.#nowMs(),
    });
    this.#sessions.add(session);
    return session;
  }

  /** Frees every swap region (the server is shutting down; its pool closes next). */
  close(): void {
    for (const entry of this.#swap.values()) entry.region.clear();
    this.#swap.clear();
  }

  /** Closes a session and frees its regions at once; its swap regions wait for a reconnect. */
  closeSession(session: Session): void {
    if (!this.#sessions.delete(session)) return;
    for (const id of session.regionIds) this.pool.free(id);
    for (const entry of this.#swap.values()) {
      if (entry.sessions.delete(session) && entry.sessions.size === 0) {
        entry.detachedAtMs = this.#nowMs();
      }
    }
    this.#closedClients++;
    this.#closedBytesIn += session.stats.bytesIn;
    this.#closedBytesOut += session.stats.bytesOut;
  }

  /**
   * Creates the swap region named by `key`, or attaches `session` to the existing one (another
   * connection presenting the key takes part in it; the key is the capability).
   */
  openSwap(
    session: Session,
    key: Uint8Array,
    sizeBytes: number,
  ): { region: SwapRegion; reattached: boolean } {
    this.sweepSwap();
    const keyDigest = encodeHex(digest(key));
    const existing = this.#swapByKey.get(keyDigest);
    if (existing !== undefined) {
      if (existing.region.sizeBytes !== sizeBytes) {
        throw new SwapOpenRefused(
          Status.BAD_FRAME,
          `swap region exists with ${existing.region.sizeBytes} bytes, not ${sizeBytes}`,
        );
      }
      existing.sessions.add(session);
      existing.detachedAtMs = null;
      return { region: existing.region, reattached: true };
    }
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % SWAP_PAGE_BYTES !== 0) {
      throw new SwapOpenRefused(
        Status.BAD_FRAME,
        `swap region size ${sizeBytes} must be a positive multiple of ${SWAP_PAGE_BYTES}`,
      );
    }
    const region = new SwapRegion(this.swapStore, { id: this.#nextSwapId++, sizeBytes });
    const entry: SwapEntry = {
      region,
      keyDigest,
      sessions: new Set([session]),
      createdAtMs: this.#nowMs(),
      detachedAtMs: null,
    };
    this.#swap.set(region.id, entry);
    this.#swapByKey.set(keyDigest, entry);
    return { region, reattached: false };
  }

  /** The swap region `id` if `session` is attached to it. */
  swapRegion(session: Session, id: number): SwapRegion | undefined {
    const entry = this.#swap.get(id);
    return entry !== undefined && entry.sessions.has(session) ? entry.region : undefined;
  }

  /** Swap regions `session` is attached to. */
  swapRegionsOf(session: Session): SwapRegion[] {
    return [...this.#swap.values()].filter((e) => e.sessions.has(session)).map((e) => e.region);
  }

  /** Frees a swap region and all its pages (FREE by an attached client). */
  freeSwap(id: number): void {
    const entry = this.#swap.get(id);
    if (entry === undefined) return;
    entry.region.clear();
    this.#swap.delete(id);
    this.#swapByKey.delete(entry.keyDigest);
  }

  /** Frees swap regions detached for longer than the grace period; returns their ids. */
  sweepSwap(): number[] {
    const now = this.#nowMs();
    const expired = [...this.#swap.values()].filter((e) =>
      e.detachedAtMs !== null && now - e.detachedAtMs >= this.swapGraceMs
    );
    for (const entry of expired) this.freeSwap(entry.region.id);
    return expired.map((e) => e.region.id);
  }

  /** A snapshot of the server's statistics. */
  stats(): ServerStats {
    const regions = [...this.#swap.values()].map((e): SwapRegionStats => ({
      regionId: e.region.id,
      sizeBytes: e.region.sizeBytes,
      storedBytes: e.region.storedBytes,
      clients: [...e.sessions].map((s) => s.stats.clientId),
      createdAtMs: e.createdAtMs,
      detachedAtMs: e.detachedAtMs,
    }));
    return {
      pool: this.pool.stats(),
      swap: {
        regions,
        storedBytes: regions.reduce((sum, r) => sum + r.storedBytes, 0),
        slabBytes: this.swapStore.slabBytes,
        graceMs: this.swapGraceMs,
      },
      clients: [...this.#sessions].map((s) => s.snapshot()),
      closedClients: this.#closedClients,
      closedBytesIn: this.#closedBytesIn,
      closedBytesOut: this.#closedBytesOut,
    };
  }

  /** Checks a presented token (constant time). */
  checkToken(presented: Uint8Array): boolean {
    if (this.#tokenDigest === undefined) return true;
    return tokensEqual(this.#tokenDigest, presented);
  }
}

const EMPTY: readonly Uint8Array[] = [];

function reply(status: StatusCode, fields: Partial<Omit<Reply, "status">> = {}): Reply {
  const body = fields.body ?? EMPTY;
  return {
    status,
    regionId: fields.regionId ?? 0,
    offset: fields.offset ?? 0,
    body,
    bodyBytes: fields.bodyBytes ?? body.reduce((sum, part) => sum + part.length, 0),
    close: fields.close ?? false,
  };
}

function error(status: StatusCode, message: string, close = false): Reply {
  return reply(status, { body: [encodeErrorMessage(message)], close });
}

/** One client connection's state. */
export class Session {
  readonly #server: MemoryServer;
  readonly #regions = new Set<number>();
  readonly stats: ClientStats;
  /** Protocol version agreed at HELLO (0 before). */
  version = 0;

  /** Use MemoryServer.openSession. */
  constructor(server: MemoryServer, init: { clientId: number; remote: string; nowMs: number }) {
    this.#server = server;
    this.stats = {
      clientId: init.clientId,
      remote: init.remote,
      authenticated: false,
      connectedAtMs: init.nowMs,
      bytesIn: 0,
      bytesOut: 0,
      readBytes: 0,
      writeBytes: 0,
      ops: 0,
      readOps: 0,
      writeOps: 0,
      errors: 0,
      regions: 0,
      allocatedBytes: 0,
      swapRegions: 0,
      swapStoredBytes: 0,
    };
  }

  /** Region ids this session owns. */
  get regionIds(): number[] {
    return [...this.#regions];
  }

  /** A copy of the statistics. */
  snapshot(): ClientStats {
    const swap = this.#server.swapRegionsOf(this);
    return {
      ...this.stats,
      swapRegions: swap.length,
      swapStoredBytes: swap.reduce((sum, region) => sum + region.storedBytes, 0),
    };
  }

  /** Called by the transport for a header whose body would exceed the limit (then closes). */
  oversized(header: FrameHeader): Reply {
    this.stats.errors++;
    return error(
      Status.TOO_LARGE,
      `frame body of ${header.bodyBytes} bytes exceeds ${MAX_BODY_BYTES}`,
      true,
    );
  }

  /** Handles one complete request frame and returns the reply to send. */
  handle(header: FrameHeader, body: Uint8Array): Reply {
    this.stats.ops++;
    this.stats.bytesIn += 24 + body.length;
    const result = this.#dispatch(header, body);
    if (result.status !== Status.OK) this.stats.errors++;
    this.stats.bytesOut += 24 + result.bodyBytes;
    return result;
  }

  #dispatch(header: FrameHeader, body: Uint8Array): Reply {
    if ((header.flags & FLAG_RESPONSE) !== 0) {
      return error(Status.BAD_FRAME, "clients must not send response frames", true);
    }
    if (!this.stats.authenticated) {
      if (header.op !== Op.HELLO) return error(Status.NOT_AUTHENTICATED, "send HELLO first", true);
      return this.#hello(body);
    }
    if (header.op === Op.SWAP_OPEN || header.op === Op.DISCARD) {
      if (this.version < SWAP_PROTOCOL_VERSION) {
        return error(Status.UNKNOWN_OP, `operation ${header.op} needs protocol version 2`);
      }
    }
    const swap = this.#server.swapRegion(this, header.regionId);
    if (swap !== undefined) return this.#swapOp(swap, header, body);
    switch (header.op) {
      case Op.HELLO:
        return error(Status.BAD_FRAME, "already authenticated");
      case Op.SWAP_OPEN:
        return this.#swapOpen(header, body);
      case Op.DISCARD:
        return this.#discard(header, body);
      case Op.ALLOC:
        return this.#alloc(header.offset);
      case Op.FREE:
        return this.#free(header.regionId);
      case Op.READ:
        return this.#read(header, body);
      case Op.WRITE:
        return this.#write(header, body);
      case Op.READV:
        return this.#readv(header, body);
      case Op.WRITEV:
        return this.#writev(header, body);
      case Op.STATS:
        return reply(Status.OK, {
          body: [new TextEncoder().encode(JSON.stringify(this.#server.stats()))],
        });
      case Op.PING:
        return reply(Status.OK, { body: body.length > 0 ? [body.slice()] : EMPTY });
      default:
        return error(Status.UNKNOWN_OP, `unknown operation ${header.op}`);
    }
  }

  #hello(body: Uint8Array): Reply {
    const parsed = parseHelloRequest(body);
    if (!parsed.ok) return error(parsed.status, parsed.message, true);
    const { minVersion, maxVersion, token } = parsed.value;
    const version = Math.min(maxVersion, PROTOCOL_VERSION_MAX);
    if (version < Math.max(minVersion, PROTOCOL_VERSION_MIN)) {
      return error(
        Status.UNSUPPORTED_VERSION,
        `server speaks versions ${PROTOCOL_VERSION_MIN}..${PROTOCOL_VERSION_MAX}`,
        true,
      );
    }
    if (!this.#server.checkToken(token)) return error(Status.AUTH_FAILED, "bad token", true);
    this.stats.authenticated = true;
    this.version = version;
    return reply(Status.OK, {
      body: [encodeHelloResponse({
        version,
        clientId: this.stats.clientId,
        maxBodyBytes: MAX_BODY_BYTES,
        capacityBytes: this.#server.pool.capacityBytes,
      })],
    });
  }

  #alloc(sizeBytes: number): Reply {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) {
      return error(Status.BAD_FRAME, `invalid region size ${sizeBytes}`);
    }
    try {
      const region = this.#server.pool.allocate(sizeBytes, {
        owner: `client-${this.stats.clientId}`,
      });
      this.#regions.add(region.id);
      this.stats.regions = this.#regions.size;
      this.stats.allocatedBytes += region.sizeBytes;
      return reply(Status.OK, { regionId: region.id, offset: region.sizeBytes });
    } catch (cause) {
      if (cause instanceof PoolExhaustedError) return error(Status.NO_SPACE, cause.message);
      throw cause;
    }
  }

  #free(regionId: number): Reply {
    const region = this.#owned(regionId);
    if (region === undefined) return error(Status.NO_SUCH_REGION, `no region ${regionId}`);
    this.#regions.delete(regionId);
    this.#server.pool.free(regionId);
    this.stats.regions = this.#regions.size;
    this.stats.allocatedBytes -= region.sizeBytes;
    return reply(Status.OK, { regionId });
  }

  #swapOpen(header: FrameHeader, body: Uint8Array): Reply {
    const parsed = parseSwapOpenRequest(body);
    if (!parsed.ok) return error(parsed.status, parsed.message);
    try {
      const { region, reattached } = this.#server.openSwap(this, parsed.value, header.offset);
      return reply(Status.OK, {
        regionId: region.id,
        offset: region.sizeBytes,
        body: [encodeSwapOpenResponse({ storedBytes: region.storedBytes, reattached })],
      });
    } catch (cause) {
      if (cause instanceof SwapOpenRefused) return error(cause.status, cause.message);
      throw cause;
    }
  }

  /** DISCARD on an ordinary region: the range reads as zeros afterwards. */
  #discard(header: FrameHeader, body: Uint8Array): Reply {
    const parsed = parseDiscardRequest(body);
    if (!parsed.ok) return error(parsed.status, parsed.message);
    const region = this.#owned(header.regionId);
    if (region === undefined) return error(Status.NO_SUCH_REGION, `no region ${header.regionId}`);
    if (!(header.offset + parsed.value <= region.sizeBytes)) {
      return error(Status.OUT_OF_BOUNDS, `discard of ${parsed.value} at ${header.offset}`);
    }
    region.bytes.fill(0, header.offset, header.offset + parsed.value);
    return reply(Status.OK, { regionId: region.id, offset: header.offset });
  }

  /** Operations on a sparse swap region (whole 4 KiB pages only). */
  #swapOp(region: SwapRegion, header: FrameHeader, body: Uint8Array): Reply {
    try {
      switch (header.op) {
        case Op.READ: {
          const parsed = parseReadRequest(body);
          if (!parsed.ok) return error(parsed.status, parsed.message);
          const parts = region.read(header.offset, parsed.value);
          this.stats.readOps++;
          this.stats.readBytes += parsed.value;
          return reply(Status.OK, { regionId: region.id, offset: header.offset, body: parts });
        }
        case Op.WRITE:
          region.write(header.offset, body);
          this.stats.writeOps++;
          this.stats.writeBytes += body.length;
          return reply(Status.OK, { regionId: region.id, offset: header.offset });
        case Op.READV:
        case Op.WRITEV:
          return this.#swapBatch(region, header, body);
        case Op.DISCARD: {
          const parsed = parseDiscardRequest(body);
          if (!parsed.ok) return error(parsed.status, parsed.message);
          region.discard(header.offset, parsed.value);
          return reply(Status.OK, { regionId: region.id, offset: header.offset });
        }
        case Op.FREE:
          this.#server.freeSwap(region.id);
          return reply(Status.OK, { regionId: region.id });
        default:
          return error(Status.BAD_FRAME, `operation ${header.op} does not apply to a swap region`);
      }
    } catch (cause) {
      if (cause instanceof SwapRangeError) return error(Status.OUT_OF_BOUNDS, cause.message);
      if (cause instanceof PoolExhaustedError) return error(Status.NO_SPACE, cause.message);
      throw cause;
    }
  }

  #swapBatch(region: SwapRegion, header: FrameHeader, body: Uint8Array): Reply {
    const withData = header.op === Op.WRITEV;
    const parsed = parseBatchHeader(body, withData);
    if (!parsed.ok) return error(parsed.status, parsed.message);
    const { pageBytes, offsets } = parsed.value;
    for (const offset of offsets) region.check("batch page", offset, pageBytes);
    if (!withData) {
      const parts = offsets.flatMap((offset) => region.read(offset, pageBytes));
      this.stats.readOps += offsets.length;
      this.stats.readBytes += pageBytes * offsets.length;
      return reply(Status.OK, { regionId: region.id, body: parts });
    }
    let at = batchMetaBytes(offsets.length);
    for (const offset of offsets) {
      region.write(offset, body.subarray(at, at + pageBytes));
      at += pageBytes;
    }
    this.stats.writeOps += offsets.length;
    this.stats.writeBytes += pageBytes * offsets.length;
    return reply(Status.OK, { regionId: region.id });
  }

  #owned(regionId: number) {
    return this.#regions.has(regionId) ? this.#server.pool.get(regionId) : undefined;
  }

  #read(header: FrameHeader, body: Uint8Array): Reply {
    const parsed = parseReadRequest(body);
    if (!parsed.ok) return error(parsed.status, parsed.message);
    const region = this.#owned(header.regionId);
    if (region === undefined) return error(Status.NO_SUCH_REGION, `no region ${header.regionId}`);
    const length = parsed.value;
    if (!(header.offset + length <= region.sizeBytes)) {
      return error(Status.OUT_OF_BOUNDS, `read of ${length} at ${header.offset} outside region`);
    }
    this.stats.readOps++;
    this.stats.readBytes += length;
    return {
      status: Status.OK,
      regionId: region.id,
      offset: header.offset,
      body: [region.bytes.subarray(header.offset, header.offset + length)],
      bodyBytes: length,
      close: false,
    };
  }

  #write(header: FrameHeader, body: Uint8Array): Reply {
    const region = this.#owned(header.regionId);
    if (region === undefined) return error(Status.NO_SUCH_REGION, `no region ${header.regionId}`);
    if (!(header.offset + body.length <= region.sizeBytes)) {
      return error(
        Status.OUT_OF_BOUNDS,
        `write of ${body.length} at ${header.offset} outside region`,
      );
    }
    region.bytes.set(body, header.offset);
    this.stats.writeOps++;
    this.stats.writeBytes += body.length;
    return reply(Status.OK, { regionId: region.id, offset: header.offset });
  }

  #readv(header: FrameHeader, body: Uint8Array): Reply {
    const parsed = parseBatchHeader(body, false);
    if (!parsed.ok) return error(parsed.status, parsed.message);
    const region = this.#owned(header.regionId);
    if (region === undefined) return error(Status.NO_SUCH_REGION, `no region ${header.regionId}`);
    const { pageBytes, offsets } = parsed.value;
    const parts: Uint8Array[] = [];
    for (const offset of offsets) {
      if (!(offset + pageBytes <= region.sizeBytes)) {
        return error(
          Status.OUT_OF_BOUNDS,
          `batch read of ${pageBytes} at ${offset} outside region`,
        );
      }
      parts.push(region.bytes.subarray(offset, offset + pageBytes));
    }
    this.stats.readOps += offsets.length;
    this.stats.readBytes += pageBytes * offsets.length;
    return reply(Status.OK, { regionId: region.id, body: parts });
  }

  #writev(header: FrameHeader, body: Uint8Array): Reply {
    const parsed = parseBatchHeader(body, true);
    if (!parsed.ok) return error(parsed.status, parsed.message);
    const region = this.#owned(header.regionId);
    if (region === undefined) return error(Status.NO_SUCH_REGION, `no region ${header.regionId}`);
    const { pageBytes, offsets } = parsed.value;
    for (const offset of offsets) {
      if (!(offset + pageBytes <= region.sizeBytes)) {
        return error(
          Status.OUT_OF_BOUNDS,
          `batch write of ${pageBytes} at ${offset} outside region`,
        );
      }
    }
    let at = batchMetaBytes(offsets.length);
    for (const offset of offsets) {
      region.bytes.set(body.subarray(at, at + pageBytes), offset);
      at += pageBytes;
    }
    this.stats.writeOps += offsets.length;
    this.stats.writeBytes += pageBytes * offsets.length;
    return reply(Status.OK, { regionId: region.id });
  }
}
