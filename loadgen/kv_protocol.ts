/**
 * What the load generator needs from a key-value protocol: encode a GET and a SET into a
 * batch, and parse replies incrementally from received bytes. Pure.
 * @module
 */
import type { ByteWriter } from "./byte_writer.ts";

/** The outcome of one request. */
export type Reply =
  | { kind: "hit" }
  | { kind: "miss" }
  | { kind: "stored" }
  /** The server answered with an error (out of memory, bad command, ...). */
  | { kind: "error"; message: string };

/** One reply parsed from a buffer, and where the next one starts. */
export interface Parsed {
  reply: Reply;
  next: number;
}

/** The server sent something the protocol does not allow here. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** A key-value protocol (memcached text, redis RESP). */
export interface KvProtocol {
  readonly name: string;
  /** Appends a read of `key`. */
  encodeGet(out: ByteWriter, key: string): void;
  /** Appends a write of `value` under `key`. */
  encodeSet(out: ByteWriter, key: string, value: Uint8Array): void;
  /**
   * Parses the reply starting at `offset`; null when `bytes` does not hold all of it yet.
   * @throws {ProtocolError} on bytes that are not a valid reply.
   */
  parse(bytes: Uint8Array, offset: number): Parsed | null;
}

const CR = 13;
const LF = 10;

/** Index of the CR of the first CRLF at or after `offset`, or -1 (pure). */
export function findCrlf(bytes: Uint8Array, offset: number): number {
  let at = bytes.indexOf(CR, offset);
  while (at >= 0 && at + 1 < bytes.length) {
    if (bytes[at + 1] === LF) return at;
    at = bytes.indexOf(CR, at + 1);
  }
  return -1;
}

/** True when `bytes[offset..]` starts with the ASCII `text` (pure). */
export function startsWithAscii(bytes: Uint8Array, offset: number, text: string): boolean {
  if (offset + text.length > bytes.length) return false;
  for (let i = 0; i < text.length; i++) {
    if (bytes[offset + i] !== text.charCodeAt(i)) return false;
  }
  return true;
}

/** The line starting at `offset`: where its CRLF is, and where the next starts; null if partial. */
export function lineAt(bytes: Uint8Array, offset: number): { end: number; next: number } | null {
  const end = findCrlf(bytes, offset);
  return end < 0 ? null : { end, next: end + 2 };
}

/** Appends a header line, then `data` and its closing CRLF (a value block of either protocol). */
export function writeBlock(out: ByteWriter, header: string, data: Uint8Array): void {
  out.text(`${header}\r\n`);
  out.write(data);
  out.text("\r\n");
}

const decoder = new TextDecoder();

/** The ASCII text of `bytes[start..end)` (pure). */
export function ascii(bytes: Uint8Array, start: number, end: number): string {
  return decoder.decode(bytes.subarray(start, end));
}
