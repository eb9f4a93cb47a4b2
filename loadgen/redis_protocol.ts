/**
 * redis's RESP: `GET key` and `SET key value` as arrays of bulk strings, and their replies
 * (`$<n>` bulk string, `$-1` nil, `+OK`, `-ERR ...`). Pure.
 * @module
 */
import type { ByteWriter } from "./byte_writer.ts";
import {
  ascii,
  type KvProtocol,
  lineAt,
  type Parsed,
  ProtocolError,
  writeBlock,
} from "./kv_protocol.ts";

const PLUS = 43; // +
const MINUS = 45; // -
const COLON = 58; // :
const DOLLAR = 36; // $

function bulk(out: ByteWriter, text: string): void {
  out.text(`$${text.length}\r\n${text}\r\n`);
}

/** The redis protocol (RESP2). */
export const redisProtocol: KvProtocol = {
  name: "redis",

  encodeGet(out: ByteWriter, key: string): void {
    out.text("*2\r\n");
    bulk(out, "GET");
    bulk(out, key);
  },

  encodeSet(out: ByteWriter, key: string, value: Uint8Array): void {
    out.text("*3\r\n");
    bulk(out, "SET");
    bulk(out, key);
    writeBlock(out, `$${value.length}`, value);
  },

  parse(bytes: Uint8Array, offset: number): Parsed | null {
    const line = lineAt(bytes, offset);
    if (line === null) return null;
    const { end: lineEnd, next } = line;
    switch (bytes[offset]) {
      case PLUS:
      case COLON:
        return { reply: { kind: "stored" }, next };
      case MINUS:
        return { reply: { kind: "error", message: ascii(bytes, offset + 1, lineEnd) }, next };
      case DOLLAR: {
        const length = Number(ascii(bytes, offset + 1, lineEnd));
        if (length === -1) return { reply: { kind: "miss" }, next };
        if (!Number.isInteger(length) || length < 0) {
          throw new ProtocolError(`Bad redis bulk length: ${ascii(bytes, offset, lineEnd)}`);
        }
        if (next + length + 2 > bytes.length) return null;
        return { reply: { kind: "hit" }, next: next + length + 2 };
      }
      default:
        throw new ProtocolError(
          `Unexpected redis reply: ${JSON.stringify(ascii(bytes, offset, lineEnd).slice(0, 80))}`,
        );
    }
  },
};
