import assert from "node:assert/strict";
import { MemoryPool, PoolExhaustedError, REGION_ALIGN_BYTES } from "./pool.ts";

/** Frees `regions` (a pool refuses to close while any is allocated). */
function freeAll(pool: MemoryPool, regions: ReadonlyArray<{ id: number }>): void {
  for (const region of regions) pool.free(region.id);
}

Deno.test("pool rounds regions up and enforces its capacity", () => {
  using pool = MemoryPool.onHeap(16 * REGION_ALIGN_BYTES);
  const a = pool.allocate(1, { owner: "a" });
  assert.equal(a.sizeBytes, REGION_ALIGN_BYTES);
  const b = pool.allocate(15 * REGION_ALIGN_BYTES, { owner: "b" });
  assert.throws(() => pool.allocate(1, { owner: "c" }), PoolExhaustedError);
  assert.equal(pool.allocatedBytes, pool.capacityBytes);
  freeAll(pool, [a, b]);
});

Deno.test("pool coalesces freed neighbours so a large region fits again", () => {
  using pool = MemoryPool.onHeap(8 * REGION_ALIGN_BYTES);
  const regions = [0, 1, 2, 3].map(() => pool.allocate(2 * REGION_ALIGN_BYTES, { owner: "x" }));
  for (const index of [1, 3, 0, 2]) assert.ok(pool.free(regions[index]?.id ?? -1));
  assert.equal(pool.allocatedBytes, 0);
  const whole = pool.allocate(8 * REGION_ALIGN_BYTES, { owner: "y" });
  assert.equal(whole.poolOffset, 0);
  assert.equal(pool.free(12345), false);
  pool.free(whole.id);
});

Deno.test("pool hands out zeroed, disjoint regions", () => {
  using pool = MemoryPool.onHeap(4 * REGION_ALIGN_BYTES);
  const a = pool.allocate(REGION_ALIGN_BYTES, { owner: "a" });
  a.bytes.fill(0xaa);
  pool.free(a.id);
  const b = pool.allocate(REGION_ALIGN_BYTES, { owner: "b" });
  const c = pool.allocate(REGION_ALIGN_BYTES, { owner: "c" });
  assert.ok(b.bytes.every((x) => x === 0));
  c.bytes.fill(1);
  assert.ok(b.bytes.every((x) => x === 0));
  freeAll(pool, [b, c]);
});

Deno.test("pool reserved with mmap exposes region pointers at the right offsets", () => {
  using pool = MemoryPool.reserve(4 * 1024 * 1024);
  const a = pool.allocate(1 << 20, { owner: "a" });
  const b = pool.allocate(1 << 20, { owner: "b" });
  assert.ok(a.pointer !== null && b.pointer !== null);
  const distance = Deno.UnsafePointer.value(b.pointer) - Deno.UnsafePointer.value(a.pointer);
  assert.equal(Number(distance), b.poolOffset - a.poolOffset);
  b.bytes[0] = 42;
  assert.equal(new Deno.UnsafePointerView(b.pointer).getUint8(0), 42);
  freeAll(pool, [a, b]);
});

Deno.test("pool refuses to close while regions are allocated, then closes once they are freed", () => {
  const pool = MemoryPool.reserve(1024 * 1024);
  const region = pool.allocate(REGION_ALIGN_BYTES, { owner: "client-7" });
  assert.throws(
    () => pool.close(),
    (error: unknown) =>
      error instanceof TypeError &&
      /Cannot close the memory pool: 1 region\(s\) of 4096 bytes .*owners: client-7/.test(
        error.message,
      ),
  );
  region.bytes[0] = 1; // still mapped: the refused close unmapped nothing
  pool.free(region.id);
  pool.close();
  pool.close();
  assert.throws(() => pool.allocate(1, { owner: "late" }), /closed/);
});
