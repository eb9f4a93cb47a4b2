import assert from "node:assert/strict";
import { MemoryPool, PoolExhaustedError } from "./pool.ts";
import { SWAP_PAGE_BYTES, SwapPageStore, SwapRangeError, SwapRegion } from "./swap_store.ts";

const MiB = 1 << 20;

function page(seed: number): Uint8Array {
  return new Uint8Array(SWAP_PAGE_BYTES).map((_, i) => (i * 7 + seed) & 0xff);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

Deno.test("swap region stores written pages and reads unwritten ones as zeros", () => {
  using pool = MemoryPool.onHeap(4 * MiB);
  const region = new SwapRegion(new SwapPageStore(pool), { id: 1, sizeBytes: 1 << 30 });
  region.write(5 * SWAP_PAGE_BYTES, concat([page(1), page(2)]));
  const back = concat(region.read(4 * SWAP_PAGE_BYTES, 4 * SWAP_PAGE_BYTES));
  assert.deepEqual(back.subarray(0, SWAP_PAGE_BYTES), new Uint8Array(SWAP_PAGE_BYTES));
  assert.deepEqual(back.subarray(SWAP_PAGE_BYTES, 2 * SWAP_PAGE_BYTES), page(1));
  assert.deepEqual(back.subarray(2 * SWAP_PAGE_BYTES, 3 * SWAP_PAGE_BYTES), page(2));
  assert.deepEqual(back.subarray(3 * SWAP_PAGE_BYTES), new Uint8Array(SWAP_PAGE_BYTES));
  assert.equal(region.storedBytes, 2 * SWAP_PAGE_BYTES);
  region.clear();
});

Deno.test("swap region costs the pool only the pages written: a 1 GiB region in a 4 MiB pool", () => {
  using pool = MemoryPool.onHeap(4 * MiB);
  const region = new SwapRegion(new SwapPageStore(pool), { id: 1, sizeBytes: 1 << 30 });
  assert.equal(pool.allocatedBytes, 0);
  region.write(900 * MiB, page(3));
  assert.equal(pool.allocatedBytes, MiB, "one 1 MiB slab for the first page");
  region.write(100 * MiB, page(4));
  assert.equal(pool.allocatedBytes, MiB, "the second page shares the slab");
  region.clear();
});

Deno.test("swap region discard frees pages and an emptied slab goes back to the pool", () => {
  using pool = MemoryPool.onHeap(4 * MiB);
  const store = new SwapPageStore(pool);
  const region = new SwapRegion(store, { id: 1, sizeBytes: 64 * MiB });
  region.write(0, new Uint8Array(300 * SWAP_PAGE_BYTES).fill(9));
  assert.equal(pool.allocatedBytes, 2 * MiB);
  assert.equal(region.discard(0, 256 * SWAP_PAGE_BYTES), 256);
  assert.equal(region.storedPages, 44);
  assert.deepEqual(concat(region.read(0, SWAP_PAGE_BYTES)), new Uint8Array(SWAP_PAGE_BYTES));
  assert.equal(store.usedPages, 44);
  region.clear();
  assert.equal(pool.allocatedBytes, 0, "every slab returned");
});

Deno.test("swap region write that runs out of pool space stores nothing", () => {
  using pool = MemoryPool.onHeap(MiB);
  const region = new SwapRegion(new SwapPageStore(pool), { id: 1, sizeBytes: 16 * MiB });
  region.write(0, new Uint8Array(250 * SWAP_PAGE_BYTES).fill(1));
  assert.throws(
    () => region.write(8 * MiB, new Uint8Array(10 * SWAP_PAGE_BYTES).fill(2)),
    PoolExhaustedError,
  );
  assert.equal(region.storedPages, 250, "the failed write added no page");
  region.write(250 * SWAP_PAGE_BYTES, new Uint8Array(6 * SWAP_PAGE_BYTES).fill(3));
  assert.equal(region.storedPages, 256, "the slab's last free slots are still usable");
  region.clear();
});

Deno.test("swap region refuses ranges that are not whole pages inside it", () => {
  using pool = MemoryPool.onHeap(MiB);
  const region = new SwapRegion(new SwapPageStore(pool), { id: 1, sizeBytes: MiB });
  assert.throws(() => region.read(100, SWAP_PAGE_BYTES), SwapRangeError);
  assert.throws(() => region.read(0, 100), SwapRangeError);
  assert.throws(() => region.write(MiB, page(1)), SwapRangeError);
  assert.throws(() => region.discard(MiB - SWAP_PAGE_BYTES, 2 * SWAP_PAGE_BYTES), SwapRangeError);
  assert.throws(
    () => new SwapRegion(new SwapPageStore(pool), { id: 2, sizeBytes: 100 }),
    RangeError,
  );
  region.clear();
});

Deno.test("swap page store shares slabs between regions and keeps their pages apart", () => {
  using pool = MemoryPool.onHeap(4 * MiB);
  const store = new SwapPageStore(pool);
  const a = new SwapRegion(store, { id: 1, sizeBytes: 8 * MiB });
  const b = new SwapRegion(store, { id: 2, sizeBytes: 8 * MiB });
  a.write(0, page(10));
  b.write(0, page(20));
  assert.equal(pool.allocatedBytes, MiB);
  assert.deepEqual(concat(a.read(0, SWAP_PAGE_BYTES)), page(10));
  assert.deepEqual(concat(b.read(0, SWAP_PAGE_BYTES)), page(20));
  a.clear();
  b.clear();
});

Deno.test("swap region reads pages written together as one view, split at slab ends and holes", () => {
  using pool = MemoryPool.onHeap(4 * MiB);
  const region = new SwapRegion(new SwapPageStore(pool), { id: 1, sizeBytes: 64 * MiB });
  const pages = Array.from({ length: 300 }, (_, i) => page(i));
  region.write(0, concat(pages));
  // 300 consecutive slots: 256 in the first slab, 44 in the second.
  const parts = region.read(0, 300 * SWAP_PAGE_BYTES);
  assert.deepEqual(parts.map((p) => p.length), [256 * SWAP_PAGE_BYTES, 44 * SWAP_PAGE_BYTES]);
  assert.deepEqual(concat(parts), concat(pages));
  region.discard(10 * SWAP_PAGE_BYTES, 2 * SWAP_PAGE_BYTES);
  const holed = region.read(8 * SWAP_PAGE_BYTES, 6 * SWAP_PAGE_BYTES);
  assert.deepEqual(holed.map((p) => p.length / SWAP_PAGE_BYTES), [2, 1, 1, 2]);
  assert.deepEqual(
    concat(holed),
    concat([page(8), page(9), new Uint8Array(8192), page(12), page(13)]),
  );
  region.clear();
});

Deno.test("swap region rewrites pages in place across runs of slots that are not consecutive", () => {
  using pool = MemoryPool.onHeap(4 * MiB);
  const region = new SwapRegion(new SwapPageStore(pool), { id: 1, sizeBytes: 64 * MiB });
  region.write(4 * SWAP_PAGE_BYTES, page(1)); // slot 0
  region.write(0, page(2)); // slot 1
  region.write(0, concat([page(3), page(4), page(5), page(6), page(7)])); // pages 0..4
  assert.deepEqual(
    concat(region.read(0, 5 * SWAP_PAGE_BYTES)),
    concat([page(3), page(4), page(5), page(6), page(7)]),
  );
  assert.equal(region.storedPages, 5);
  region.clear();
});
