/**
 * One blocking connection of a swap I/O worker to the memory server, speaking memory-server
 * protocol version 2: HELLO, SWAP_OPEN (create or re-attach the device's sparse region by its
 * key), then READ, WRITE and DISCARD of whole pages, one request at a time. Data moves straight
 * between the caller's buffers and the socket; only the 24-byte headers are staged, in buffers
 * allocated once.
 * @module
 */
import { BlockingSocket } from "../ffi/socket.ts";
import {
  encodeHelloRequest,
  HEADER_BYTES,
  MAX_BODY_BYTES,
  Op,
  parseHelloResponse,
  parseSwapOpenResponse,
  readHeader,
  Status,
  statusName,
  SWAP_PROTOCOL_VERSION,
  writeHeader,
} from "../memserver/protocol.ts";
import { RemoteError, TransportClosedError } from "../memserver/client/transport.ts";

/** Where the memory server is and how to open the device's region. */
export interface LinkTarget {
  /** IP literal (resolved once by the main thread). */
  readonly ip: string;
  readonly port: number;
  readonly token: Uint8Array;
  /** The secret naming the device's swap region (16-64 bytes). */
  readonly key: Uint8Array;
  readonly sizeBytes: number;
  /** Timeout of connect, send and receive. */
  readonly timeoutMs: number;
}

/** A SWAP_OPEN outcome. */
export interface OpenedRegion {
  readonly regionId: number;
  readonly storedBytes: number;
  readonly reattached: boolean;
}

/** A connected link; every method blocks the calling (worker) thread. */
export class SwapLink {
  readonly region: OpenedRegion;
  readonly #socket: BlockingSocket;
  readonly #tx = new Uint8Array(HEADER_BYTES + 8);
  readonly #txView = new DataView(this.#tx.buffer);
  readonly #rx = new Uint8Array(HEADER_BYTES);
  readonly #rxView = new DataView(this.#rx.buffer);
  readonly #errorBody = new Uint8Array(256);
  #requestId = 1;

  private constructor(socket: BlockingSocket, region: OpenedRegion) {
    this.#socket = socket;
    this.region = region;
  }

  /**
   * Connects, authenticates and opens the region. Throws RemoteError when the server refuses
   * (AUTH_FAILED, a version without swap regions) and TransportClosedError when it cannot be
   * reached.
   */
  static open(target: LinkTarget): SwapLink {
    let socket: BlockingSocket;
    try {
      socket = BlockingSocket.connect(target.ip, target.port, { timeoutMs: target.timeoutMs });
    } catch (error) {
      throw lost(error);
    }
    try {
      const hello = new SwapLink(socket, { regionId: 0, storedBytes: 0, reattached: false });
      const helloBody = hello.#call(
        "HELLO",
        { op: Op.HELLO, regionId: 0, offset: 0 },
        encodeHelloRequest({
          minVersion: SWAP_PROTOCOL_VERSION,
          maxVersion: SWAP_PROTOCOL_VERSION,
          token: target.token,
        }),
      );
      const parsed = parseHelloResponse(helloBody.body);
      if (!parsed.ok) throw new TransportClosedError(`Bad HELLO reply: ${parsed.message}`);
      const opened = hello.#call(
        "SWAP_OPEN",
        { op: Op.SWAP_OPEN, regionId: 0, offset: target.sizeBytes },
        target.key,
      );
      const response = parseSwapOpenResponse(opened.body);
      if (!response.ok) throw new TransportClosedError(`Bad SWAP_OPEN reply: ${response.message}`);
      return new SwapLink(socket, { regionId: opened.regionId, ...response.value });
    } catch (error) {
      socket.close();
      throw error instanceof RemoteError ? error : lost(error);
    }
  }

  /** Reads `target.length` bytes (whole pages) at `offset` of the region into `target`. */
  read(offset: number, target: Uint8Array<ArrayBuffer>): void {
    this.#guard(() => {
      this.#sendNumber({ op: Op.READ, regionId: this.region.regionId, offset }, target.length, 4);
      this.#receive("READ", target);
    });
  }

  /** Writes `source` (whole pages) at `offset` of the region. */
  write(offset: number, source: Uint8Array<ArrayBuffer>): void {
    this.#guard(() => {
      this.#send({ op: Op.WRITE, regionId: this.region.regionId, offset }, source);
      this.#receive("WRITE", null);
    });
  }

  /** Frees the pages of a range on the server (they read as zeros afterwards). */
  discard(offset: number, length: number): void {
    this.#guard(() => {
      this.#sendNumber({ op: Op.DISCARD, regionId: this.region.regionId, offset }, length, 8);
      this.#receive("DISCARD", null);
    });
  }

  /** Frees the whole region on the server (the device is going away). */
  free(): void {
    this.#guard(() => {
      this.#send({ op: Op.FREE, regionId: this.region.regionId, offset: 0 }, new Uint8Array(0));
      this.#receive("FREE", null);
    });
  }

  /** Closes the connection (idempotent). */
  close(): void {
    this.#socket.close();
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      if (error instanceof RemoteError) throw error;
      this.#socket.close();
      throw lost(error);
    }
  }

  #call(
    what: string,
    header: { op: number; regionId: number; offset: number },
    body: Uint8Array,
  ): { regionId: number; body: Uint8Array } {
    this.#send(header, body);
    const reply = new Uint8Array(512);
    const length = this.#receive(what, reply);
    return { regionId: this.#rxView.getUint32(12, true), body: reply.subarray(0, length) };
  }

  /** Sends a request whose body is one little-endian u32 or u64 (READ, DISCARD). */
  #sendNumber(
    header: { op: number; regionId: number; offset: number },
    value: number,
    bytes: 4 | 8,
  ): void {
    this.#header(header, bytes);
    this.#txView.setUint32(HEADER_BYTES, value % 0x1_0000_0000, true);
    if (bytes === 8) {
      this.#txView.setUint32(HEADER_BYTES + 4, Math.floor(value / 0x1_0000_0000), true);
    }
    this.#socket.send(this.#tx.subarray(0, HEADER_BYTES + bytes));
  }

  #header(header: { op: number; regionId: number; offset: number }, bodyBytes: number): void {
    const requestId = this.#requestId;
    this.#requestId = requestId >= 0xffff_ffff ? 1 : requestId + 1;
    writeHeader(this.#txView, 0, { ...header, bodyBytes, flags: 0, status: 0, requestId });
  }

  #send(header: { op: number; regionId: number; offset: number }, body: Uint8Array): void {
    this.#header(header, body.length);
    if (body.length <= 8) {
      this.#tx.set(body, HEADER_BYTES);
      this.#socket.send(this.#tx.subarray(0, HEADER_BYTES + body.length));
      return;
    }
    this.#socket.send(this.#tx.subarray(0, HEADER_BYTES), { more: true });
    this.#socket.send(body as Uint8Array<ArrayBuffer>);
  }

  /**
   * Receives one reply. The body goes into `target` (which must be exactly as long as an OK
   * reply's body, or longer for small replies); returns the body length.
   */
  #receive(what: string, target: Uint8Array<ArrayBuffer> | null): number {
    this.#socket.receive(this.#rx);
    const header = readHeader(this.#rxView, 0);
    if (header.bodyBytes > MAX_BODY_BYTES) {
      throw new TransportClosedError(`Reply body of ${header.bodyBytes} bytes is too large`);
    }
    if (header.status !== Status.OK) {
      const length = Math.min(header.bodyBytes, this.#errorBody.length);
      this.#socket.receive(this.#errorBody.subarray(0, length));
      this.#skip(header.bodyBytes - length);
      throw new RemoteError(what, {
        code: header.status,
        name: statusName(header.status),
        message: new TextDecoder().decode(this.#errorBody.subarray(0, length)),
      });
    }
    if (header.bodyBytes === 0) return 0;
    if (target === null || header.bodyBytes > target.length) {
      throw new TransportClosedError(`${what} reply of ${header.bodyBytes} bytes was not expected`);
    }
    this.#socket.receive(target.subarray(0, header.bodyBytes));
    return header.bodyBytes;
  }

  #skip(bytes: number): void {
    let left = bytes;
    while (left > 0) {
      const chunk = Math.min(left, this.#errorBody.length);
      this.#socket.receive(this.#errorBody.subarray(0, chunk));
      left -= chunk;
    }
  }
}

function lost(error: unknown): TransportClosedError {
  if (error instanceof TransportClosedError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TransportClosedError(`Memory server connection lost: ${message}`, { cause: error });
}
