/**
 * The memory server's wire protocol: frame layout, operations, status codes, and a pure codec
 * (no I/O). Every frame is a fixed 24-byte little-endian header followed by `bodyBytes` of body.
 * See memserver/PROTOCOL.md for the full description.
 * @module
 */

/** Bytes in a frame header. */
export const HEADER_BYTES = 24;
/** Largest body a peer may send or receive (1 MiB of data plus batch metadata). */
export const MAX_BODY_BYTES = (1 << 20) + 8192;
/** Largest number of pages in one READV or WRITEV. */
export const MAX_BATCH_PAGES = 1024;
/** Largest token accepted in HELLO. */
export const MAX_TOKEN_BYTES = 512;
/** Magic number at the start of a HELLO body ("SPMS" little-endian). */
export const HELLO_MAGIC = 0x534d5053;
/** Protocol versions this implementation speaks. */
export const PROTOCOL_VERSION_MIN = 1;
/** Protocol versions this implementation speaks (2 adds SWAP_OPEN and DISCARD). */
export const PROTOCOL_VERSION_MAX = 2;
/** The first version with sparse swap regions (SWAP_OPEN, DISCARD). */
export const SWAP_PROTOCOL_VERSION = 2;
/** Flag bit set in every response header. */
export const FLAG_RESPONSE = 0x01;

/** Operation codes. */
export const Op = {
  HELLO: 1,
  ALLOC: 2,
  FREE: 3,
  READ: 4,
  WRITE: 5,
  READV: 6,
  WRITEV: 7,
  STATS: 8,
  PING: 9,
  SWAP_OPEN: 10,
  DISCARD: 11,
} as const;
/** One operation code. */
export type OpCode = (typeof Op)[keyof typeof Op];

/** Status codes carried in response headers. */
export const Status = {
  OK: 0,
  BAD_FRAME: 1,
  UNSUPPORTED_VERSION: 2,
  AUTH_FAILED: 3,
  NOT_AUTHENTICATED: 4,
  UNKNOWN_OP: 5,
  NO_SUCH_REGION: 6,
  OUT_OF_BOUNDS: 7,
  NO_SPACE: 8,
  TOO_LARGE: 9,
  INTERNAL: 10,
} as const;
/** One status code. */
export type StatusCode = (typeof Status)[keyof typeof Status];

const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Status).map(([name, code]) => [code, name]),
);

/** The symbolic name of a status code ("OUT_OF_BOUNDS"), or "STATUS_<n>" for unknown codes. */
export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? `STATUS_${code}`;
}

/** A decoded frame header. `offset` is a byte offset (< 2^53) or, for ALLOC, a size. */
export interface FrameHeader {
  bodyBytes: number;
  op: number;
  flags: number;
  status: number;
  requestId: number;
  regionId: number;
  offset: number;
}

/** Writes `header` at `at` in `view`. */
export function writeHeader(view: DataView, at: number, header: FrameHeader): void {
  view.setUint32(at, header.bodyBytes, true);
  view.setUint8(at + 4, header.op);
  view.setUint8(at + 5, header.flags);
  view.setUint16(at + 6, header.status, true);
  view.setUint32(at + 8, header.requestId, true);
  view.setUint32(at + 12, header.regionId, true);
  view.setUint32(at + 16, header.offset % 0x1_0000_0000, true);
  view.setUint32(at + 20, Math.floor(header.offset / 0x1_0000_0000), true);
}

/** Reads the header at `at` in `view` (the caller checks that 24 bytes are there). */
export function readHeader(view: DataView, at: number): FrameHeader {
  const low = view.getUint32(at + 16, true);
  const high = view.getUint32(at + 20, true);
  return {
    bodyBytes: view.getUint32(at, true),
    op: view.getUint8(at + 4),
    flags: view.getUint8(at + 5),
    status: view.getUint16(at + 6, true),
    requestId: view.getUint32(at + 8, true),
    regionId: view.getUint32(at + 12, true),
    // Offsets above 2^53 cannot be represented; they become Infinity and fail every bounds check.
    offset: high >= 0x20_0000 ? Number.POSITIVE_INFINITY : high * 0x1_0000_0000 + low,
  };
}

/** Encodes a whole frame (header and body) into a new buffer. */
export function encodeFrame(header: Omit<FrameHeader, "bodyBytes">, body?: Uint8Array): Uint8Array {
  const bodyBytes = body?.length ?? 0;
  const frame = new Uint8Array(HEADER_BYTES + bodyBytes);
  writeHeader(new DataView(frame.buffer), 0, { ...header, bodyBytes });
  if (body !== undefined) frame.set(body, HEADER_BYTES);
  return frame;
}

/** The body of a HELLO request. */
export interface HelloRequest {
  minVersion: number;
  maxVersion: number;
  token: Uint8Array;
}

/** Encodes a HELLO request body. */
export function encodeHelloRequest(hello: HelloRequest): Uint8Array {
  if (hello.token.length > MAX_TOKEN_BYTES) {
    throw new RangeError(`Token of ${hello.token.length} bytes exceeds ${MAX_TOKEN_BYTES}`);
  }
  const body = new Uint8Array(12 + hello.token.length);
  const view = new DataView(body.buffer);
  view.setUint32(0, HELLO_MAGIC, true);
  view.setUint16(4, hello.minVersion, true);
  view.setUint16(6, hello.maxVersion, true);
  view.setUint16(8, hello.token.length, true);
  body.set(hello.token, 12);
  return body;
}

/** A parse result: the value, or a status and a message for the error reply. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; status: StatusCode; message: string };

function fail<T>(status: StatusCode, message: string): Parsed<T> {
  return { ok: false, status, message };
}

/** Parses a HELLO request body. The token is a view into `body`. */
export function parseHelloRequest(body: Uint8Array): Parsed<HelloRequest> {
  if (body.length < 12) return fail(Status.BAD_FRAME, "HELLO body shorter than 12 bytes");
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  if (view.getUint32(0, true) !== HELLO_MAGIC) return fail(Status.BAD_FRAME, "bad HELLO magic");
  const tokenBytes = view.getUint16(8, true);
  if (tokenBytes > MAX_TOKEN_BYTES || body.length !== 12 + tokenBytes) {
    return fail(Status.BAD_FRAME, "HELLO token length does not match the body");
  }
  return {
    ok: true,
    value: {
      minVersion: view.getUint16(4, true),
      maxVersion: view.getUint16(6, true),
      token: body.subarray(12),
    },
  };
}

/** The body of a HELLO response. */
export interface HelloResponse {
  version: number;
  clientId: number;
  maxBodyBytes: number;
  capacityBytes: number;
}

/** Encodes a HELLO response body. */
export function encodeHelloResponse(hello: HelloResponse): Uint8Array {
  const body = new Uint8Array(20);
  const view = new DataView(body.buffer);
  view.setUint16(0, hello.version, true);
  view.setUint32(4, hello.clientId, true);
  view.setUint32(8, hello.maxBodyBytes, true);
  view.setUint32(12, hello.capacityBytes % 0x1_0000_0000, true);
  view.setUint32(16, Math.floor(hello.capacityBytes / 0x1_0000_0000), true);
  return body;
}

/** Parses a HELLO response body. */
export function parseHelloResponse(body: Uint8Array): Parsed<HelloResponse> {
  if (body.length < 20) return fail(Status.BAD_FRAME, "HELLO response shorter than 20 bytes");
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  return {
    ok: true,
    value: {
      version: view.getUint16(0, true),
      clientId: view.getUint32(4, true),
      maxBodyBytes: view.getUint32(8, true),
      capacityBytes: view.getUint32(16, true) * 0x1_0000_0000 + view.getUint32(12, true),
    },
  };
}

/** Encodes a READ request body (the number of bytes to read). */
export function encodeReadRequest(lengthBytes: number): Uint8Array {
  const body = new Uint8Array(4);
  new DataView(body.buffer).setUint32(0, lengthBytes, true);
  return body;
}

/** Parses a READ request body. */
export function parseReadRequest(body: Uint8Array): Parsed<number> {
  if (body.length !== 4) return fail(Status.BAD_FRAME, "READ body must be 4 bytes");
  // Hot path: no DataView allocation.
  const length =
    ((body[0] ?? 0) | ((body[1] ?? 0) << 8) | ((body[2] ?? 0) << 16) | ((body[3] ?? 0) << 24)) >>>
    0;
  if (length > MAX_BODY_BYTES) return fail(Status.TOO_LARGE, `READ of ${length} bytes too large`);
  return { ok: true, value: length };
}

/** Batch metadata of READV and WRITEV: the page size and the page offsets. */
export interface BatchHeader {
  pageBytes: number;
  offsets: number[];
}

/** Bytes of batch metadata for `count` pages. */
export function batchMetaBytes(count: number): number {
  return 8 + 8 * count;
}

/** Writes batch metadata into `target` (which must hold batchMetaBytes(count) bytes). */
export function writeBatchHeader(target: Uint8Array, batch: BatchHeader): void {
  const view = new DataView(target.buffer, target.byteOffset, target.length);
  view.setUint32(0, batch.pageBytes, true);
  view.setUint32(4, batch.offsets.length, true);
  for (let i = 0; i < batch.offsets.length; i++) {
    const offset = batch.offsets[i] ?? 0;
    view.setUint32(8 + 8 * i, offset % 0x1_0000_0000, true);
    view.setUint32(12 + 8 * i, Math.floor(offset / 0x1_0000_0000), true);
  }
}

/**
 * Parses batch metadata at the start of a READV/WRITEV body. `withData` says whether the body
 * must also carry count x pageBytes of data (WRITEV) or nothing else (READV).
 */
export function parseBatchHeader(body: Uint8Array, withData: boolean): Parsed<BatchHeader> {
  if (body.length < 8) return fail(Status.BAD_FRAME, "batch body shorter than 8 bytes");
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  const pageBytes = view.getUint32(0, true);
  const count = view.getUint32(4, true);
  if (count === 0 || count > MAX_BATCH_PAGES) {
    return fail(Status.BAD_FRAME, `batch page count ${count} not in 1..${MAX_BATCH_PAGES}`);
  }
  if (pageBytes === 0 || pageBytes * count > MAX_BODY_BYTES - batchMetaBytes(count)) {
    return fail(Status.TOO_LARGE, `batch of ${count} x ${pageBytes} bytes too large`);
  }
  const expected = batchMetaBytes(count) + (withData ? count * pageBytes : 0);
  if (body.length !== expected) {
    return fail(Status.BAD_FRAME, `batch body is ${body.length} bytes, expected ${expected}`);
  }
  const offsets: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const low = view.getUint32(8 + 8 * i, true);
    const high = view.getUint32(12 + 8 * i, true);
    offsets[i] = high >= 0x20_0000 ? Number.POSITIVE_INFINITY : high * 0x1_0000_0000 + low;
  }
  return { ok: true, value: { pageBytes, offsets } };
}

/** Encodes an error reply body (a short UTF-8 message). */
export function encodeErrorMessage(message: string): Uint8Array {
  return new TextEncoder().encode(message.slice(0, 200));
}

/** Shortest and longest key naming a swap region in SWAP_OPEN. */
export const SWAP_KEY_MIN_BYTES = 16;
/** Longest key naming a swap region. */
export const SWAP_KEY_MAX_BYTES = 64;

/** Parses a SWAP_OPEN request body (the key that names the region); the key is a view. */
export function parseSwapOpenRequest(body: Uint8Array): Parsed<Uint8Array> {
  if (body.length < SWAP_KEY_MIN_BYTES || body.length > SWAP_KEY_MAX_BYTES) {
    return fail(
      Status.BAD_FRAME,
      `SWAP_OPEN key of ${body.length} bytes; expected ${SWAP_KEY_MIN_BYTES}..${SWAP_KEY_MAX_BYTES}`,
    );
  }
  return { ok: true, value: body };
}

/** The body of a SWAP_OPEN response. */
export interface SwapOpenResponse {
  /** Bytes of data the region holds (0 for a new region). */
  storedBytes: number;
  /** True when an existing region was attached, false when a new one was created. */
  reattached: boolean;
}

/** Bytes of a SWAP_OPEN response body. */
export const SWAP_OPEN_RESPONSE_BYTES = 16;

/** Encodes a SWAP_OPEN response body: u64 storedBytes, u32 flags (bit 0: reattached), u32 0. */
export function encodeSwapOpenResponse(response: SwapOpenResponse): Uint8Array {
  const body = new Uint8Array(SWAP_OPEN_RESPONSE_BYTES);
  const view = new DataView(body.buffer);
  view.setUint32(0, response.storedBytes % 0x1_0000_0000, true);
  view.setUint32(4, Math.floor(response.storedBytes / 0x1_0000_0000), true);
  view.setUint32(8, response.reattached ? 1 : 0, true);
  return body;
}

/** Parses a SWAP_OPEN response body. */
export function parseSwapOpenResponse(body: Uint8Array): Parsed<SwapOpenResponse> {
  if (body.length !== SWAP_OPEN_RESPONSE_BYTES) {
    return fail(Status.BAD_FRAME, `SWAP_OPEN response of ${body.length} bytes`);
  }
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  return {
    ok: true,
    value: {
      storedBytes: view.getUint32(4, true) * 0x1_0000_0000 + view.getUint32(0, true),
      reattached: (view.getUint32(8, true) & 1) !== 0,
    },
  };
}

/** Encodes a DISCARD request body (u64 length in bytes). */
export function encodeDiscardRequest(lengthBytes: number): Uint8Array {
  const body = new Uint8Array(8);
  const view = new DataView(body.buffer);
  view.setUint32(0, lengthBytes % 0x1_0000_0000, true);
  view.setUint32(4, Math.floor(lengthBytes / 0x1_0000_0000), true);
  return body;
}

/** Parses a DISCARD request body. */
export function parseDiscardRequest(body: Uint8Array): Parsed<number> {
  if (body.length !== 8) return fail(Status.BAD_FRAME, "DISCARD body must be 8 bytes");
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  const high = view.getUint32(4, true);
  if (high >= 0x20_0000) return fail(Status.OUT_OF_BOUNDS, "DISCARD length too large");
  return { ok: true, value: high * 0x1_0000_0000 + view.getUint32(0, true) };
}
