/**
 * memcached's text protocol: `get <key>` and `set <key> 0 0 <bytes>` requests, and their
 * replies (`VALUE ... END`, `END`, `STORED`, errors). Pure.
 * @module
 */
import type { ByteWriter } from "./byte_writer.ts";
import {
  ascii,
  type KvProtocol,
  lineAt,
  type Parsed,
  ProtocolError,
  startsWithAscii,
  writeBlock,
} from "./kv_protocol.ts";

const END = "END\r\n";

/** The memcached text protocol. */
export const memcachedProtocol: KvProtocol = {
  name: "memcached",

  encodeGet(out: ByteWriter, key: string): void {
    out.text(`get ${key}\r\n`);
  },

  encodeSet(out: ByteWriter, key: string, value: Uint8Array): void {
    writeBlock(out, `set ${key} 0 0 ${value.length}`, value);
  },

  parse(bytes: Uint8Array, offset: number): Parsed | null {
    const line = lineAt(bytes, offset);
    if (line === null) return null;
    const { end: lineEnd, next } = line;
    if (startsWithAscii(bytes, offset, "VALUE ")) {
      // VALUE <key> <flags> <bytes> [<cas unique>]
      const length = Number(ascii(bytes, offset, lineEnd).split(" ")[3]);
      if (!Number.isInteger(length) || length < 0) {
        throw new ProtocolError(`Bad memcached VALUE line: ${ascii(bytes, offset, lineEnd)}`);
      }
      const dataEnd = next + length;
      if (dataEnd + 2 + END.length > bytes.length) return null;
      if (!startsWithAscii(bytes, dataEnd, "\r\n" + END)) {
        throw new ProtocolError("memcached value not followed by CRLF END");
      }
      return { reply: { kind: "hit" }, next: dataEnd + 2 + END.length };
    }
    if (lineEnd - offset === 3 && startsWithAscii(bytes, offset, "END")) {
      return { reply: { kind: "miss" }, next };
    }
    if (lineEnd - offset === 6 && startsWithAscii(bytes, offset, "STORED")) {
      return { reply: { kind: "stored" }, next };
    }
    const text = ascii(bytes, offset, lineEnd);
    if (/^(ERROR|CLIENT_ERROR|SERVER_ERROR|NOT_STORED|EXISTS|NOT_FOUND)\b/.test(text)) {
      return { reply: { kind: "error", message: text }, next };
    }
    throw new ProtocolError(`Unexpected memcached reply: ${JSON.stringify(text.slice(0, 80))}`);
  },
};
