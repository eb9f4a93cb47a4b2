import assert from "node:assert/strict";
import { commandOnPath, systemTest } from "../test/prereq.ts";
import {
  decodeRegionRecord,
  encodeRegionRecord,
  REGION_RECORD_BYTES,
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
