import assert from "node:assert/strict";
import { concatBytes, readerLines, readLines, writeAll } from "./lines.ts";

/** A reader handing out `chunks` one per read, as a socket may split and join lines. */
function chunked(chunks: readonly Uint8Array[]) {
  let next = 0;
  return {
    read(buffer: Uint8Array): Promise<number | null> {
      const chunk = chunks[next++];
      if (chunk === undefined) return Promise.resolve(null);
      assert.ok(chunk.length <= buffer.length, "a test chunk fits the reader's buffer");
      buffer.set(chunk);
      return Promise.resolve(chunk.length);
    },
  };
}

async function collect(lines: AsyncGenerator<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

Deno.test("readerLines joins lines split across reads, multi-byte characters included", async () => {
  const bytes = new TextEncoder().encode('{"a":1}\n{"b":"é€"}\n\nlast');
  // Splits inside the second line and inside the two-byte "é" and the three-byte "€".
  const cuts = [3, 12, 13, 16, bytes.length];
  const chunks = cuts.map((end, i) => bytes.subarray(i === 0 ? 0 : cuts[i - 1], end));
  assert.deepEqual(await collect(readerLines(chunked(chunks))), [
    '{"a":1}',
    '{"b":"é€"}',
    "",
    "last",
  ]);
});

Deno.test("readerLines reuses its buffer yet yields what readLines yields", async () => {
  const text = Array.from({ length: 500 }, (_, i) => `line ${i} ${"x".repeat(i % 97)}`).join("\n");
  const bytes = new TextEncoder().encode(text + "\n");
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += 777) chunks.push(bytes.slice(at, at + 777));
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const expected = await collect(readLines(stream));
  assert.equal(expected.length, 500);
  assert.deepEqual(await collect(readerLines(chunked(chunks), 1024)), expected);
});

Deno.test("readerLines passes a read error on", async () => {
  const failing = { read: () => Promise.reject(new Deno.errors.ConnectionReset("reset")) };
  await assert.rejects(collect(readerLines(failing)), Deno.errors.ConnectionReset);
});

Deno.test("writeAll finishes partial writes", async () => {
  const written: number[] = [];
  const writer = {
    write(bytes: Uint8Array): Promise<number> {
      const n = Math.min(3, bytes.length);
      written.push(...bytes.subarray(0, n));
      return Promise.resolve(n);
    },
  };
  await writeAll(writer, new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
  assert.deepEqual(written, [1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("concatBytes joins chunks in order", () => {
  const one = new Uint8Array([1, 2]);
  assert.deepEqual(
    concatBytes([one, new Uint8Array([]), new Uint8Array([3])]),
    new Uint8Array([1, 2, 3]),
  );
  assert.equal(concatBytes([one]), one);
  assert.deepEqual(concatBytes([]), new Uint8Array([]));
});
