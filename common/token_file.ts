/**
 * The per-run secret file shared by the memory server and its clients (workloads, the remote
 * swap daemon): one line of text, written mode 0600 by the controller.
 * @module
 */

/** Reads a token file: its content without trailing newlines; must not be empty. */
export async function readTokenFile(path: string): Promise<Uint8Array> {
  const text = (await Deno.readTextFile(path)).replace(/[\r\n]+$/, "");
  if (text.length === 0) throw new RangeError(`Token file ${path} is empty`);
  return new TextEncoder().encode(text);
}
