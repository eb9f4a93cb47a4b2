/**
 * RemoteTransport over TCP: one connection, pipelined requests with request ids, small requests
 * packed into one write, replies copied straight into the caller's buffers.
 * @module
 */
import {
  batchMetaBytes,
  encodeHelloRequest,
  encodeReadRequest,
  HEADER_BYTES,
  MAX_BATCH_PAGES,
  MAX_BODY_BYTES,
  Op,
  parseHelloResponse,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  readHeader,
  Status,
  statusName,
  writeBatchHeader,
  writeHeader,
} from "../protocol.ts";
import {
  RemoteError,
  type RemoteRegion,
  type RemoteTransport,
  TransportClosedError,
  type TransportCounters,
  type TransportEndpoint,
} from "./transport.ts";

const TX_BYTES = 256 * 1024;

interface Pending {
  op: number;
  /** Where reply data goes (READ: one target; READV: one per page). */
  targets: readonly Uint8Array[] | undefined;
  resolve: (reply: { regionId: number; offset: number; body: Uint8Array }) => void;
  reject: (error: Error) => void;
}

const OP_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Op).map(([name, code]) => [code, name]),
);

/** Connects and authenticates to a memory server over TCP. */
export async function connectTcp(endpoint: TransportEndpoint): Promise<TcpTransport> {
  const conn = await Deno.connect({ hostname: endpoint.hostname, port: endpoint.port });
  conn.setNoDelay(true);
  const transport = new TcpTransport(conn);
  try {
    await transport.hello(endpoint.token ?? new Uint8Array(0));
  } catch (error) {
    await transport.close();
    throw error;
  }
  return transport;
}

/** A RemoteTransport over one TCP connection (use {@linkcode connectTcp}). */
export class TcpTransport implements RemoteTransport {
  readonly kind = "tcp";
  readonly maxTransferBytes = 1 << 20;
  readonly maxBatchPages = MAX_BATCH_PAGES;
  readonly #conn: Deno.TcpConn;
  readonly #pending = new Map<number, Pending>();
  readonly #counters: TransportCounters = {
    requests: 0,
    readBytes: 0,
    writeBytes: 0,
    inFlight: 0,
    maxInFlight: 0,
  };
  readonly #tx = new Uint8Array(TX_BYTES);
  readonly #txView = new DataView(this.#tx.buffer);
  #txLength = 0;
  #flushScheduled = false;
  readonly #writeQueue: Uint8Array[] = [];
  #writing = false;
  #nextRequestId = 1;
  #closed: Error | undefined;
  readonly #reader: Promise<void>;
  /** Client id the server assigned at HELLO. */
  clientId = 0;
  /** Protocol version agreed at HELLO (2 and up offer sparse swap regions). */
  version = 0;
  /** The server's pool capacity, as reported at HELLO. */
  serverCapacityBytes = 0;

  /** Wraps a connected socket; call hello() before anything else. */
  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#reader = this.#readLoop().catch((error) => this.#fail(error));
  }

  /** Authenticates and negotiates the protocol version. */
  async hello(token: Uint8Array): Promise<void> {
    const body = encodeHelloRequest({
      minVersion: PROTOCOL_VERSION_MIN,
      maxVersion: PROTOCOL_VERSION_MAX,
      token,
    });
    const reply = await this.#request({ op: Op.HELLO, regionId: 0, offset: 0, parts: [body] });
    const parsed = parseHelloResponse(reply.body);
    if (!parsed.ok) throw new TransportClosedError(`Bad HELLO reply: ${parsed.message}`);
    this.clientId = parsed.value.clientId;
    this.version = parsed.value.version;
    this.serverCapacityBytes = parsed.value.capacityBytes;
  }

  /** @inheritdoc */
  async allocate(sizeBytes: number): Promise<RemoteRegion> {
    const reply = await this.#request({ op: Op.ALLOC, regionId: 0, offset: sizeBytes, parts: [] });
    return { id: reply.regionId, sizeBytes: reply.offset };
  }

  /** @inheritdoc */
  async free(region: RemoteRegion): Promise<void> {
    await this.#request({ op: Op.FREE, regionId: region.id, offset: 0, parts: [] });
  }

  /** @inheritdoc */
  async read(region: RemoteRegion, offset: number, target: Uint8Array): Promise<void> {
    this.#checkSize(target.length);
    await this.#request({
      op: Op.READ,
      regionId: region.id,
      offset,
      parts: [encodeReadRequest(target.length)],
      targets: [target],
    });
    this.#counters.readBytes += target.length;
  }

  /** @inheritdoc */
  async write(region: RemoteRegion, offset: number, source: Uint8Array): Promise<void> {
    this.#checkSize(source.length);
    await this.#request({ op: Op.WRITE, regionId: region.id, offset, parts: [source] });
    this.#counters.writeBytes += source.length;
  }

  /** @inheritdoc */
  async readPages(
    region: RemoteRegion,
    offsets: readonly number[],
    targets: readonly Uint8Array[],
  ): Promise<void> {
    const pageBytes = this.#checkBatch(offsets, targets);
    const meta = new Uint8Array(batchMetaBytes(offsets.length));
    writeBatchHeader(meta, { pageBytes, offsets: [...offsets] });
    await this.#request({ op: Op.READV, regionId: region.id, offset: 0, parts: [meta], targets });
    this.#counters.readBytes += pageBytes * offsets.length;
  }

  /** @inheritdoc */
  async writePages(
    region: RemoteRegion,
    offsets: readonly number[],
    sources: readonly Uint8Array[],
  ): Promise<void> {
    const pageBytes = this.#checkBatch(offsets, sources);
    const meta = new Uint8Array(batchMetaBytes(offsets.length));
    writeBatchHeader(meta, { pageBytes, offsets: [...offsets] });
    await this.#request({
      op: Op.WRITEV,
      regionId: region.id,
      offset: 0,
      parts: [meta, ...sources],
    });
    this.#counters.writeBytes += pageBytes * offsets.length;
  }

  /** @inheritdoc */
  async serverStats(): Promise<unknown> {
    const reply = await this.#request({ op: Op.STATS, regionId: 0, offset: 0, parts: [] });
    return JSON.parse(new TextDecoder().decode(reply.body));
  }

  /** @inheritdoc */
  counters(): TransportCounters {
    return { ...this.#counters };
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    if (this.#closed === undefined) {
      this.#fail(new TransportClosedError("The transport was closed"));
    }
    await this.#reader;
  }

  #checkSize(bytes: number): void {
    if (bytes > this.maxTransferBytes) {
      throw new RangeError(`Transfer of ${bytes} bytes exceeds ${this.maxTransferBytes}`);
    }
  }

  #checkBatch(offsets: readonly number[], buffers: readonly Uint8Array[]): number {
    const pageBytes = buffers[0]?.length ?? 0;
    if (
      offsets.length === 0 || offsets.length !== buffers.length || offsets.length > MAX_BATCH_PAGES
    ) {
      throw new RangeError(
        `Invalid batch of ${offsets.length} offsets and ${buffers.length} buffers`,
      );
    }
    if (pageBytes === 0 || buffers.some((b) => b.length !== pageBytes)) {
      throw new RangeError("Batch buffers must be non-empty and of equal size");
    }
    this.#checkSize(pageBytes * offsets.length);
    return pageBytes;
  }

  #request(request: {
    op: number;
    regionId: number;
    offset: number;
    parts: readonly Uint8Array[];
    targets?: readonly Uint8Array[];
  }): Promise<{ regionId: number; offset: number; body: Uint8Array }> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const requestId = this.#nextRequestId;
    this.#nextRequestId = this.#nextRequestId >= 0xffff_ffff ? 1 : this.#nextRequestId + 1;
    const promise = new Promise<{ regionId: number; offset: number; body: Uint8Array }>(
      (resolve, reject) => {
        this.#pending.set(requestId, { op: request.op, targets: request.targets, resolve, reject });
      },
    );
    this.#counters.requests++;
    this.#counters.inFlight++;
    if (this.#counters.inFlight > this.#counters.maxInFlight) {
      this.#counters.maxInFlight = this.#counters.inFlight;
    }
    const bodyBytes = request.parts.reduce((sum, part) => sum + part.length, 0);
    const header = {
      bodyBytes,
      op: request.op,
      flags: 0,
      status: 0,
      requestId,
      regionId: request.regionId,
      offset: request.offset,
    };
    if (HEADER_BYTES + bodyBytes > TX_BYTES - this.#txLength) this.#flush();
    if (HEADER_BYTES + bodyBytes > TX_BYTES) {
      const headerBytes = new Uint8Array(HEADER_BYTES);
      writeHeader(new DataView(headerBytes.buffer), 0, header);
      this.#writeQueue.push(headerBytes);
      for (const part of request.parts) this.#writeQueue.push(part);
      this.#pumpWrites();
    } else {
      writeHeader(this.#txView, this.#txLength, header);
      this.#txLength += HEADER_BYTES;
      for (const part of request.parts) {
        this.#tx.set(part, this.#txLength);
        this.#txLength += part.length;
      }
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => this.#flush());
      }
    }
    return promise;
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#txLength === 0) return;
    // A copy of what was batched, and the buffer reused: a fresh 256 KiB buffer per flush (one
    // flush per miss when misses come one at a time) was this process's main cost.
    this.#writeQueue.push(this.#tx.slice(0, this.#txLength));
    this.#txLength = 0;
    this.#pumpWrites();
  }

  #pumpWrites(): void {
    if (this.#writing) return;
    this.#writing = true;
    (async () => {
      while (this.#writeQueue.length > 0 && this.#closed === undefined) {
        const chunk = this.#writeQueue.shift();
        if (chunk === undefined) break;
        let at = 0;
        while (at < chunk.length) at += await this.#conn.write(chunk.subarray(at));
      }
    })().catch((error) => this.#fail(error)).finally(() => {
      this.#writing = false;
      if (this.#writeQueue.length > 0 && this.#closed === undefined) this.#pumpWrites();
    });
  }

  async #readLoop(): Promise<void> {
    const rx = new Uint8Array(HEADER_BYTES + MAX_BODY_BYTES);
    const view = new DataView(rx.buffer);
    let start = 0;
    let end = 0;
    while (this.#closed === undefined) {
      while (end - start >= HEADER_BYTES) {
        const header = readHeader(view, start);
        if (header.bodyBytes > MAX_BODY_BYTES) {
          throw new TransportClosedError(`Reply body of ${header.bodyBytes} bytes is too large`);
        }
        const frameBytes = HEADER_BYTES + header.bodyBytes;
        if (end - start < frameBytes) break;
        this.#settle(header, rx.subarray(start + HEADER_BYTES, start + frameBytes));
        start += frameBytes;
      }
      if (start === end) {
        start = 0;
        end = 0;
      } else if (start > 0) {
        rx.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      let n: number | null;
      try {
        n = await this.#conn.read(rx.subarray(end));
      } catch (error) {
        if (this.#closed !== undefined) return;
        throw error;
      }
      if (n === null) throw new TransportClosedError("The memory server closed the connection");
      end += n;
    }
  }

  #settle(header: ReturnType<typeof readHeader>, body: Uint8Array): void {
    const pending = this.#pending.get(header.requestId);
    if (pending === undefined) {
      throw new TransportClosedError(`Reply for unknown request ${header.requestId}`);
    }
    this.#pending.delete(header.requestId);
    this.#counters.inFlight--;
    if (header.status !== Status.OK) {
      pending.reject(
        new RemoteError(OP_NAMES[pending.op] ?? `op ${pending.op}`, {
          code: header.status,
          name: statusName(header.status),
          message: new TextDecoder().decode(body),
        }),
      );
      return;
    }
    const targets = pending.targets;
    if (targets !== undefined && targets.length === 1 && targets[0]?.length === body.length) {
      targets[0].set(body);
      pending.resolve({ regionId: header.regionId, offset: header.offset, body: EMPTY_BODY });
      return;
    }
    if (targets !== undefined) {
      const expected = targets.reduce((sum, t) => sum + t.length, 0);
      if (expected !== body.length) {
        pending.reject(
          new TransportClosedError(`Reply of ${body.length} bytes, expected ${expected}`),
        );
        return;
      }
      let at = 0;
      for (const target of targets) {
        target.set(body.subarray(at, at + target.length));
        at += target.length;
      }
      pending.resolve({ regionId: header.regionId, offset: header.offset, body: EMPTY_BODY });
      return;
    }
    pending.resolve({ regionId: header.regionId, offset: header.offset, body: body.slice() });
  }

  #fail(error: unknown): void {
    if (this.#closed !== undefined) return;
    this.#closed = error instanceof Error ? error : new TransportClosedError(String(error));
    const failure = this.#closed instanceof TransportClosedError
      ? this.#closed
      : new TransportClosedError(
        `Connection to the memory server failed: ${this.#closed.message}`,
        {
          cause: this.#closed,
        },
      );
    this.#closed = failure;
    for (const pending of this.#pending.values()) pending.reject(failure);
    this.#pending.clear();
    this.#counters.inFlight = 0;
    try {
      this.#conn.close();
    } catch (closeError) {
      if (!(closeError instanceof Deno.errors.BadResource)) throw closeError;
    }
  }
}

const EMPTY_BODY = new Uint8Array(0);
