import assert from "node:assert/strict";
import { commandOnPath, systemTest } from "../test/prereq.ts";
import {
  ACCEPT_RECORD_BYTES,
  CONNECT_RECORD_BYTES,
  decodeAcceptRecord,
  decodeConnectRequest,
  decodeRegionRecord,
  decodeRejectRecord,
  encodeAcceptRecord,
  encodeConnectHeader,
  encodeRegionRecord,
  encodeRejectRecord,
  REGION_RECORD_BYTES,
  REJECT_REASONS,
  roundRegionBytes,
} from "./rdma_private_data.ts";

Deno.test("region record round-trips through its 20-byte encoding", () => {
  const record = { addr: 0x7f12_3456_7000n, rkey: 0xdead_beef, sizeBytes: 1n << 33n };
  const bytes = encodeRegionRecord(record);
  assert.equal(bytes.length, REGION_RECORD_BYTES);
  assert.deepEqual(decodeRegionRecord(bytes), record);
});

Deno.test("region record decoding ignores transport padding after 20 bytes", () => {
  const padded = new Uint8Array(56);
  padded.set(encodeRegionRecord({ addr: 1n, rkey: 2, sizeBytes: 3n }));
  padded.fill(0xff, REGION_RECORD_BYTES);
  assert.deepEqual(decodeRegionRecord(padded), { addr: 1n, rkey: 2, sizeBytes: 3n });
});

Deno.test("region record decoding rejects short private data", () => {
  assert.throws(() => decodeRegionRecord(new Uint8Array(19)), /needs 20/);
});

Deno.test("region sizes round up to whole 2 MiB", () => {
  assert.equal(roundRegionBytes(1), 2 * 1024 * 1024);
  assert.equal(roundRegionBytes(2 * 1024 * 1024), 2 * 1024 * 1024);
  assert.equal(roundRegionBytes(2 * 1024 * 1024 + 1), 4 * 1024 * 1024);
});

const NONCE = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);

/** A 48-byte connect record with a recognisable (not computed) proof. */
function connectRecord(sizeBytes = 5n << 20n): Uint8Array {
  const record = new Uint8Array(CONNECT_RECORD_BYTES).fill(0xab);
  record.set(encodeConnectHeader({ sizeBytes, timestampMs: 1_700_000_000_123n, nonce: NONCE }));
  return record;
}

Deno.test("connect record round-trips its fields and keeps all 48 bytes for the proof", () => {
  const record = connectRecord();
  assert.deepEqual([...record.subarray(0, 6)], [0x53, 0x50, 0x52, 0x54, 1, 1]);
  const decoded = decodeConnectRequest(record);
  assert.equal(decoded.kind, "spirit");
  if (decoded.kind !== "spirit") return;
  assert.equal(decoded.fields.sizeBytes, 5n << 20n);
  assert.equal(decoded.fields.timestampMs, 1_700_000_000_123n);
  assert.deepEqual(decoded.fields.nonce, NONCE);
  assert.deepEqual(decoded.record, record);
});

Deno.test("connect record fits InfiniBand's 56 bytes and decodes with the padding", () => {
  const padded = new Uint8Array(56);
  padded.set(connectRecord());
  const decoded = decodeConnectRequest(padded);
  assert.equal(decoded.kind, "spirit");
  if (decoded.kind === "spirit") assert.equal(decoded.record.length, CONNECT_RECORD_BYTES);
});

Deno.test("connect request without the magic is the legacy region record", () => {
  const legacy = encodeRegionRecord({ addr: 0n, rkey: 0, sizeBytes: 3n << 30n });
  assert.deepEqual(decodeConnectRequest(legacy), { kind: "legacy", sizeBytes: 3n << 30n });
});

Deno.test("connect request decoding reports a truncated spirit record", () => {
  const truncated = connectRecord().subarray(0, 40);
  assert.deepEqual(decodeConnectRequest(truncated), {
    kind: "invalid",
    reason: "malformed",
    detail: "spirit connect record truncated: 40 of 48 bytes",
  });
});

Deno.test("connect request decoding reports short private data without the magic", () => {
  const decoded = decodeConnectRequest(new Uint8Array(12));
  assert.equal(decoded.kind, "invalid");
  if (decoded.kind === "invalid") {
    assert.equal(decoded.reason, "malformed");
    assert.match(decoded.detail, /12 bytes; a legacy region record has 20/);
  }
});

Deno.test("connect request decoding names an unsupported record version", () => {
  const record = connectRecord();
  record[4] = 7;
  assert.deepEqual(decodeConnectRequest(record), {
    kind: "invalid",
    reason: "unsupported-version",
    detail: "spirit record version 7; this server speaks 1",
  });
});

Deno.test("connect request decoding refuses a spirit record of another type", () => {
  const record = connectRecord();
  record[5] = 2;
  const decoded = decodeConnectRequest(record);
  assert.equal(decoded.kind, "invalid");
  if (decoded.kind === "invalid") assert.match(decoded.detail, /type 2 is not a connect/);
});

Deno.test("accept record carries the server's proof after the region record", () => {
  const region = { addr: 0x7f00_0000_1000n, rkey: 0x1234, sizeBytes: 0n };
  const proof = new Uint8Array(16).fill(9);
  const bytes = encodeAcceptRecord(region, proof);
  assert.equal(bytes.length, ACCEPT_RECORD_BYTES);
  const decoded = decodeAcceptRecord(bytes);
  assert.deepEqual(decoded.region, region);
  assert.deepEqual(decoded.proof, proof);
  assert.deepEqual(decoded.regionBytes, encodeRegionRecord(region));
});

Deno.test("accept record without a proof (or zero padding) decodes with proof null", () => {
  const region = { addr: 1n, rkey: 2, sizeBytes: 0n };
  assert.equal(decodeAcceptRecord(encodeAcceptRecord(region)).proof, null);
  const padded = new Uint8Array(56);
  padded.set(encodeAcceptRecord(region));
  assert.equal(decodeAcceptRecord(padded).proof, null);
});

Deno.test("reject record round-trips every reason and the server time", () => {
  for (const reason of REJECT_REASONS) {
    assert.deepEqual(decodeRejectRecord(encodeRejectRecord(reason, 1_700_000_000_000)), {
      reason,
      serverTimeMs: 1_700_000_000_000,
    });
  }
});

Deno.test("reject record decoding ignores rejects without spirit's record", () => {
  assert.equal(decodeRejectRecord(new Uint8Array(0)), null);
  assert.equal(decodeRejectRecord(new Uint8Array(56)), null);
  assert.equal(decodeRejectRecord(connectRecord()), null, "a connect record is not a reject");
  const unknown = encodeRejectRecord("probe", 0);
  unknown[6] = 200;
  assert.equal(decodeRejectRecord(unknown)?.reason, "unknown");
});

systemTest(
  "region record layout equals a packed C struct {u64 addr; u32 rkey; u64 size}",
  [commandOnPath("gcc")],
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "spirit-record-" });
    try {
      await Deno.writeTextFile(
        `${dir}/record.c`,
        `#include <stdint.h>
#include <stdio.h>
#include <string.h>
struct __attribute__((packed)) record { uint64_t addr; uint32_t rkey; uint64_t size; };
int main(void) {
  struct record r = { 0x0102030405060708ULL, 0x11223344u, 0x8877665544332211ULL };
  unsigned char b[sizeof r]; memcpy(b, &r, sizeof r);
  printf("%zu", sizeof r);
  for (size_t i = 0; i < sizeof r; i++) printf(" %u", b[i]);
  printf("\\n");
  return 0;
}
`,
      );
      const gcc = await new Deno.Command("gcc", {
        args: [`${dir}/record.c`, "-o", `${dir}/record`],
      }).output();
      assert.equal(gcc.code, 0);
      const out = new TextDecoder().decode(
        (await new Deno.Command(`${dir}/record`).output()).stdout,
      );
      const [size, ...bytes] = out.trim().split(" ").map(Number);
      assert.equal(size, REGION_RECORD_BYTES);
      const ours = encodeRegionRecord({
        addr: 0x0102030405060708n,
        rkey: 0x11223344,
        sizeBytes: 0x8877665544332211n,
      });
      assert.deepEqual(bytes, [...ours]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
