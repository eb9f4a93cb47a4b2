/**
 * Checks shared by the protocol tests.
 * @module
 */
import assert from "node:assert/strict";
import type { KvProtocol, Reply } from "./kv_protocol.ts";

/** Parses a buffer of complete replies, failing the test on a partial one. */
export function parseAll(protocol: KvProtocol, bytes: Uint8Array): Reply[] {
  const replies: Reply[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const parsed = protocol.parse(bytes, offset);
    assert.ok(parsed !== null, `partial reply at byte ${offset}`);
    replies.push(parsed.reply);
    offset = parsed.next;
  }
  return replies;
}

/** Asserts that every prefix of `whole` (one hit reply) parses as incomplete, and all of it as a hit. */
export function assertWaitsForWhole(protocol: KvProtocol, whole: Uint8Array): void {
  for (let cut = 0; cut < whole.length; cut++) {
    assert.equal(protocol.parse(whole.subarray(0, cut), 0), null, `cut at ${cut}`);
  }
  assert.deepEqual(protocol.parse(whole, 0), { reply: { kind: "hit" }, next: whole.length });
}
