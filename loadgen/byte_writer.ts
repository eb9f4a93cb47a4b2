/**
 * A growable byte buffer for building request batches without intermediate strings. Pure.
 * @module
 */

const encoder = new TextEncoder();

/** Appends bytes and ASCII text; `bytes()` is a view of what was written since `reset()`. */
export class ByteWriter {
  #buffer: Uint8Array;
  #length = 0;

  constructor(initialBytes = 64 * 1024) {
    this.#buffer = new Uint8Array(initialBytes);
  }

  /** Forgets what was written (keeps the memory). */
  reset(): void {
    this.#length = 0;
  }

  /** What was written since the last reset (a view, valid until the next write). */
  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }

  /** Appends raw bytes. */
  write(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** Appends text as UTF-8 (requests use ASCII only). */
  text(text: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    this.#reserve(text.length * 3);
    const { written } = encoder.encodeInto(text, this.#buffer.subarray(this.#length));
    this.#length += written;
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buffer.length) return;
    let size = this.#buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = grown;
  }
}
