/**
 * The one request of OpenSSH's connection-multiplexing protocol (PROTOCOL.mux, version 4) the
 * controller speaks itself: telling a master connection to exit (`ssh -O exit` without starting
 * an ssh client, about 20 ms of CPU each; a 33-host check closes 33 masters at once on two CPUs).
 * Packets are a big-endian uint32 length and a payload of uint32 words and strings (uint32
 * length, bytes).
 * @module
 */

const MUX_MSG_HELLO = 0x00000001;
const MUX_C_TERMINATE = 0x10000005;
const MUX_S_OK = 0x80000001;
const MUX_S_PERMISSION_DENIED = 0x80000002;
const MUX_S_FAILURE = 0x80000003;
const MUX_PROTOCOL_VERSION = 4;
/** Longest packet accepted from the master (hello extensions are short). */
const MAX_PACKET_BYTES = 64 * 1024;

/** The master answered, but not as the protocol says (or refused). */
export class MuxProtocolError extends Error {
  override name = "MuxProtocolError";
}

/** A packet of uint32 words. */
export function muxPacket(...words: number[]): Uint8Array {
  const bytes = new Uint8Array(4 + 4 * words.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 4 * words.length);
  words.forEach((word, i) => view.setUint32(4 + 4 * i, word));
  return bytes;
}

/** `length` bytes, or null when the connection ends before the first. */
async function readExactly(conn: Deno.Conn, length: number): Promise<Uint8Array | null> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = await conn.read(bytes.subarray(filled));
    if (n === null && filled === 0) return null;
    if (n === null) throw new MuxProtocolError("the master closed the connection mid-packet");
    filled += n;
  }
  return bytes;
}

/** One packet, or null when the connection ends before it. */
async function readPacket(conn: Deno.Conn): Promise<DataView | null> {
  const head = await readExactly(conn, 4);
  if (head === null) return null;
  const length = new DataView(head.buffer).getUint32(0);
  if (length < 4 || length > MAX_PACKET_BYTES) {
    throw new MuxProtocolError(`the master sent a packet of ${length} bytes`);
  }
  const body = await readExactly(conn, length);
  if (body === null) throw new MuxProtocolError("the master closed the connection mid-packet");
  return new DataView(body.buffer);
}

/** The string at `offset` of a packet, or "" when it does not fit. */
function stringAt(packet: DataView, offset: number): string {
  if (offset + 4 > packet.byteLength) return "";
  const length = packet.getUint32(offset);
  const start = packet.byteOffset + offset + 4;
  if (offset + 4 + length > packet.byteLength) return "";
  return new TextDecoder().decode(new Uint8Array(packet.buffer, start, length));
}

/**
 * Asks the master listening on `socketPath` to exit. Resolves true once it agreed (or closed the
 * connection after the request: OpenSSH's master may exit before its answer is sent), false
 * when no master listens there (no socket, or nobody accepting: it is gone already).
 * @throws {MuxProtocolError} when the master refuses or answers outside the protocol.
 */
export async function terminateMaster(
  socketPath: string,
  options: { timeoutMs?: number } = {},
): Promise<boolean> {
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socketPath });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.ConnectionRefused) {
      return false;
    }
    throw error;
  }
  const timer = setTimeout(() => conn.close(), options.timeoutMs ?? 5000);
  try {
    await conn.write(muxPacket(MUX_MSG_HELLO, MUX_PROTOCOL_VERSION));
    const hello = await readPacket(conn);
    if (hello === null) {
      throw new MuxProtocolError("the master closed the connection before its hello");
    }
    if (hello.byteLength < 8 || hello.getUint32(0) !== MUX_MSG_HELLO) {
      throw new MuxProtocolError("the master's first packet is not a hello");
    }
    if (hello.getUint32(4) !== MUX_PROTOCOL_VERSION) {
      throw new MuxProtocolError(`the master speaks mux protocol ${hello.getUint32(4)}`);
    }
    const requestId = 1;
    await conn.write(muxPacket(MUX_C_TERMINATE, requestId));
    // OpenSSH's master may exit before its answer gets out (`ssh -O exit` takes that as done).
    const reply = await readPacket(conn).catch((error) => {
      if (error instanceof Deno.errors.ConnectionReset) return null;
      throw error;
    });
    if (reply === null) return true;
    const type = reply.getUint32(0);
    if (type === MUX_S_OK && reply.byteLength >= 8 && reply.getUint32(4) === requestId) return true;
    if (type === MUX_S_PERMISSION_DENIED || type === MUX_S_FAILURE) {
      throw new MuxProtocolError(`the master refused to exit: ${stringAt(reply, 8)}`);
    }
    throw new MuxProtocolError(`unexpected answer 0x${type.toString(16)} to terminate`);
  } catch (error) {
    if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
      throw new MuxProtocolError("the master did not answer in time");
    }
    throw error;
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

/** Closes `conn` unless the timeout closed it already. */
function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}
