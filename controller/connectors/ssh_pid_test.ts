import assert from "node:assert/strict";
import { splitPidLine } from "./ssh.ts";

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return ReadableStream.from(chunks.map((c) => encoder.encode(c)));
}

Deno.test("splitPidLine takes the pid line and passes the rest through", async () => {
  const { pid, rest } = splitPidLine(streamOf("spirit-pid:42\nhello\n", "world\n"));
  const text = await new Response(rest).text();
  assert.equal(await pid, 42);
  assert.equal(text, "hello\nworld\n");
});

Deno.test("splitPidLine finds a pid line split across chunks after shell noise", async () => {
  const { pid, rest } = splitPidLine(streamOf("Welcome!\nspirit-p", "id:7", "\nout"));
  const text = await new Response(rest).text();
  assert.equal(await pid, 7);
  assert.equal(text, "out");
});

Deno.test("splitPidLine resolves null when the stream ends without a pid line", async () => {
  const { pid, rest } = splitPidLine(streamOf("no pid here\n"));
  assert.equal(await new Response(rest).text(), "");
  assert.equal(await pid, null);
});
