import assert from "node:assert/strict";
import { readLines } from "../../common/lines.ts";
import { socketProcess } from "./socket_process.ts";

/**
 * A Unix socket whose server sends `lines`, then closes without reading what the client sent
 * (the kernel then resets the connection: the client's read fails with ECONNRESET).
 */
async function resettingPeer(lines: string): Promise<{ conn: Deno.Conn; done: Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "spirit-socket-test-" });
  const path = `${dir}/s`;
  const listener = Deno.listen({ transport: "unix", path });
  const done = (async () => {
    const peer = await listener.accept();
    await peer.write(new TextEncoder().encode(lines));
    // Wait for the client's bytes to be queued, unread, then close: a reset.
    await new Promise((resolve) => setTimeout(resolve, 100));
    peer.close();
    listener.close();
    await Deno.remove(dir, { recursive: true });
  })();
  const conn = await Deno.connect({ transport: "unix", path });
  return { conn, done };
}

Deno.test("a socket process reads a reset as the end of its output", async () => {
  const { conn, done } = await resettingPeer("one\ntwo\n");
  const process = socketProcess(conn);
  const writer = process.stdin.getWriter();
  await writer.write(new TextEncoder().encode("never read\n"));
  const seen: string[] = [];
  for await (const line of readLines(process.stdout)) seen.push(line);
  assert.deepEqual(seen, ["one", "two"]);
  assert.deepEqual(await process.status, { code: 0, signal: null });
  await done;
  writer.releaseLock();
});
