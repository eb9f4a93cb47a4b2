/**
 * Memory server logic independent of the transport: authentication, regions, bounds checks and
 * per-client statistics. A transport (tcp.ts) decodes frames and hands them to a Session, which
 * answers with a Reply; it never touches sockets itself.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import {
  batchMetaBytes,
  encodeErrorMessage,
  encodeHelloResponse,
  FLAG_RESPONSE,
  type FrameHeader,
  MAX_BODY_BYTES,
  Op,
  parseBatchHeader,
  parseHelloRequest,
  parseReadRequest,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  Status,
  type StatusCode,
} from "./protocol.ts";
import { type MemoryPool, PoolExhaustedError, type PoolStats } from "./pool.ts";

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
}

/** Statistics of the whole server. */
export interface ServerStats {
  pool: PoolStats;
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
  readonly #tokenDigest: Uint8Array | undefined;
  readonly #sessions = new Set<Session>();
  readonly #nowMs: () => number;
  #nextClientId = 1;
  #closedClients = 0;
  #closedBytesIn = 0;
  #closedBytesOut = 0;

  /** Creates a server over `pool`. */
  constructor(pool: MemoryPool, options: MemoryServerOptions = {}) {
    this.pool = pool;
    this.#tokenDigest = options.token === undefined ? undefined : digest(options.token);
    this.#nowMs = options.nowMs ?? Date.now;
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

  /** Closes a session and frees its regions at once. */
  closeSession(session: Session): void {
    if (!this.#sessions.delete(session)) return;
    for (const id of session.regionIds) this.pool.free(id);
    this.#closedClients++;
    this.#closedBytesIn += session.stats.bytesIn;
    this.#closedBytesOut += session.stats.bytesOut;
  }

  /** A snapshot of the server's statistics. */
  stats(): ServerStats {
    return {
      pool: this.pool.stats(),
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
    };
  }

  /** Region ids this session owns. */
  get regionIds(): number[] {
    return [...this.#regions];
  }

  /** A copy of the statistics. */
  snapshot(): ClientStats {
    return { ...this.stats };
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
    switch (header.op) {
      case Op.HELLO:
        return error(Status.BAD_FRAME, "already authenticated");
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
