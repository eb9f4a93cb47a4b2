/**
 * Line splitting of byte streams (child output, sockets), and writing bytes out.
 * @module
 */

/** Yields the lines (without "\n") of byte chunks; a last unterminated line is yielded too. */
async function* splitLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of chunks) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      yield buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf("\n");
    }
  }
  buffer += decoder.decode();
  if (buffer.length > 0) yield buffer;
}

/** Yields the lines (without "\n") of a byte stream; a last unterminated line is yielded too. */
export function readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  return splitLines(stream);
}

/** What {@linkcode readerLines} reads from: a `Deno.Conn`, `Deno.stdin`. */
export interface ByteReader {
  read(buffer: Uint8Array): Promise<number | null>;
}

/** The reads of `reader`, each a view of the same buffer (valid until the next one). */
async function* reads(reader: ByteReader, bufferBytes: number): AsyncGenerator<Uint8Array> {
  const buffer = new Uint8Array(bufferBytes);
  for (;;) {
    const n = await reader.read(buffer);
    if (n === null) return;
    yield buffer.subarray(0, n);
  }
}

/**
 * {@linkcode readLines} of a connection read directly into one reused buffer. The hot control
 * channels (controller to agent daemon, daemon to workloads) use it: `conn.readable` allocates
 * and zeroes a 64 KiB chunk per read and passes it through the web streams' promise machinery,
 * which took 70-120 us of CPU per request/response pair against 35-40 us this way (measured
 * with a Unix socket echo of JSON lines).
 */
export function readerLines(reader: ByteReader, bufferBytes = 16 * 1024): AsyncGenerator<string> {
  return splitLines(reads(reader, bufferBytes));
}

/** Writes all of `bytes` to `writer` (a `Deno.Conn`, `Deno.stdout`: a write may be partial). */
export async function writeAll(
  writer: { write(bytes: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await writer.write(bytes.subarray(written));
}

/** Concatenates chunks into one array (the one chunk itself when there is only one). */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
