/**
 * Sparse swap regions in the memory server's pool. A swap region is as large as the swap device
 * it backs, but only pages that were written cost memory: each written 4 KiB page takes a slot
 * in a slab (a 1 MiB region of the pool, shared by every swap region), reads of pages never
 * written (or discarded) return zeros, and a discard gives the slots back. A slab that empties is
 * returned to the pool at once, so the pool's capacity is shared exactly between ordinary
 * regions and swap pages.
 * @module
 */
import type { MemoryPool, Region } from "./pool.ts";

/** Swap regions move whole pages of this size. */
export const SWAP_PAGE_BYTES = 4096;
/** Pages per slab (1 MiB slabs). */
const SLAB_PAGES = 256;
/** Pages per second-level table of a region (4 MiB of device per table). */
const TABLE_PAGES = 1024;
/** One page of zeros, the body of reads of unwritten pages. Never written to. */
const ZERO_PAGE = new Uint8Array(SWAP_PAGE_BYTES);

interface Slab {
  readonly region: Region;
  /** Stack of free page indexes in this slab. */
  readonly free: Uint16Array;
  freeCount: number;
}

/** Page slots carved from pool slabs, shared by all swap regions of a server. */
export class SwapPageStore {
  readonly #pool: MemoryPool;
  readonly #slabs: (Slab | undefined)[] = [];
  /** Slab indexes with at least one free slot. */
  readonly #partial = new Set<number>();
  /** The slab slots are taken from while it has free ones. */
  #current: number | undefined = undefined;
  #usedPages = 0;

  /** Creates a store that takes slabs from `pool`. */
  constructor(pool: MemoryPool) {
    this.#pool = pool;
  }

  /** Pages in use, over all regions. */
  get usedPages(): number {
    return this.#usedPages;
  }

  /** Bytes of the pool held in slabs (used pages plus free slots of partial slabs). */
  get slabBytes(): number {
    return this.#slabs.reduce(
      (sum, slab) => sum + (slab === undefined ? 0 : slab.region.sizeBytes),
      0,
    );
  }

  /** Takes a free slot; throws PoolExhaustedError when no slot is free and no slab fits. */
  allocate(): number {
    // The slab the last slot came from while it has room: consecutive writes get consecutive
    // slots, which reads and writes then move as one run.
    let slabIndex: number | undefined = this.#current;
    if (slabIndex === undefined || !this.#partial.has(slabIndex)) {
      slabIndex = this.#partial.values().next().value ?? this.#newSlab();
      this.#current = slabIndex;
    }
    const slab = this.#slabs[slabIndex];
    if (slab === undefined) throw new Error(`swap slab ${slabIndex} is missing`);
    const page = slab.free[--slab.freeCount] ?? 0;
    if (slab.freeCount === 0) this.#partial.delete(slabIndex);
    this.#usedPages++;
    return slabIndex * SLAB_PAGES + page;
  }

  /** Returns a slot; an emptied slab goes back to the pool. */
  release(slot: number): void {
    const slabIndex = Math.floor(slot / SLAB_PAGES);
    const slab = this.#slabs[slabIndex];
    if (slab === undefined) throw new RangeError(`swap slot ${slot} is not allocated`);
    slab.free[slab.freeCount++] = slot % SLAB_PAGES;
    this.#usedPages--;
    if (slab.freeCount === SLAB_PAGES) {
      this.#partial.delete(slabIndex);
      this.#slabs[slabIndex] = undefined;
      this.#pool.free(slab.region.id);
    } else {
      this.#partial.add(slabIndex);
    }
  }

  /** The 4 KiB of memory behind a slot. */
  bytes(slot: number): Uint8Array {
    return this.run(slot, 1);
  }

  /** The memory behind `count` consecutive slots from `slot`, all in one slab. */
  run(slot: number, count: number): Uint8Array {
    const slab = this.#slabs[Math.floor(slot / SLAB_PAGES)];
    if (slab === undefined) throw new RangeError(`swap slot ${slot} is not allocated`);
    const first = slot % SLAB_PAGES;
    if (count < 1 || first + count > SLAB_PAGES) {
      throw new RangeError(`swap slots ${slot}+${count} are not in one slab`);
    }
    return slab.region.bytes.subarray(first * SWAP_PAGE_BYTES, (first + count) * SWAP_PAGE_BYTES);
  }

  /** True when `next` directly follows `slot` in the same slab. */
  follows(slot: number, next: number): boolean {
    return next === slot + 1 && next % SLAB_PAGES !== 0;
  }

  #newSlab(): number {
    const region = this.#pool.allocate(SLAB_PAGES * SWAP_PAGE_BYTES, { owner: "swap" });
    let index = this.#slabs.indexOf(undefined);
    if (index === -1) index = this.#slabs.length;
    const free = new Uint16Array(SLAB_PAGES);
    for (let i = 0; i < SLAB_PAGES; i++) free[i] = SLAB_PAGES - 1 - i;
    this.#slabs[index] = { region, free, freeCount: SLAB_PAGES };
    this.#partial.add(index);
    return index;
  }
}

/** A range a swap region refuses: not whole pages, or past its end. */
export class SwapRangeError extends RangeError {
  /** Creates the error for `what` (e.g. "read of 100 bytes at 4096"). */
  constructor(what: string, sizeBytes: number) {
    super(`${what} is not whole 4 KiB pages inside the swap region of ${sizeBytes} bytes`);
    this.name = "SwapRangeError";
  }
}

/**
 * One sparse swap region: a two-level page table (device page -> slot) over a shared store.
 * @example
 * const region = new SwapRegion(store, { id: 7, sizeBytes: 1 << 30 });
 * region.write(8192, page);       // takes one slot
 * region.read(8192, 4096);        // [view of that slot]
 * region.discard(0, 1 << 20);     // the slot is free again
 */
export class SwapRegion {
  readonly id: number;
  readonly sizeBytes: number;
  readonly #store: SwapPageStore;
  readonly #tables: (Int32Array | undefined)[];
  #storedPages = 0;

  /** Creates an empty region of `sizeBytes` (a positive multiple of 4 KiB). */
  constructor(store: SwapPageStore, options: { id: number; sizeBytes: number }) {
    const { sizeBytes } = options;
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % SWAP_PAGE_BYTES !== 0) {
      throw new RangeError(`Swap region size ${sizeBytes} must be a positive multiple of 4096`);
    }
    this.id = options.id;
    this.sizeBytes = sizeBytes;
    this.#store = store;
    this.#tables = new Array(Math.ceil(sizeBytes / SWAP_PAGE_BYTES / TABLE_PAGES));
  }

  /** Pages holding data. */
  get storedPages(): number {
    return this.#storedPages;
  }

  /** Bytes holding data. */
  get storedBytes(): number {
    return this.#storedPages * SWAP_PAGE_BYTES;
  }

  /** Throws SwapRangeError unless `offset`..`offset+length` is whole pages inside the region. */
  check(what: string, offset: number, length: number): void {
    if (
      !(offset >= 0) || offset % SWAP_PAGE_BYTES !== 0 || length % SWAP_PAGE_BYTES !== 0 ||
      !(offset + length <= this.sizeBytes)
    ) {
      throw new SwapRangeError(`${what} of ${length} bytes at ${offset}`, this.sizeBytes);
    }
  }

  /**
   * Views of the pages of a range, in order: one view per run of pages in consecutive slots (a
   * shared zero page for each page without data).
   */
  read(offset: number, length: number): Uint8Array[] {
    this.check("read", offset, length);
    const parts: Uint8Array[] = [];
    this.#runs(offset / SWAP_PAGE_BYTES, length / SWAP_PAGE_BYTES, (_at, slot, count) => {
      if (slot >= 0) parts.push(this.#store.run(slot, count));
      else for (let i = 0; i < count; i++) parts.push(ZERO_PAGE);
    });
    return parts;
  }

  /**
   * Calls `fn(index, slot, count)` for each run of the `count` pages from `first`: pages in
   * consecutive slots of one slab, or pages without data (`slot` -1); `index` counts from 0.
   */
  #runs(first: number, count: number, fn: (index: number, slot: number, count: number) => void) {
    let start = 0;
    let startSlot = this.#slot(first);
    let previous = startSlot;
    for (let i = 1; i <= count; i++) {
      const slot = i < count ? this.#slot(first + i) : -2;
      const joins = slot >= 0
        ? previous >= 0 && this.#store.follows(previous, slot)
        : slot === -1 &&
          previous === -1;
      if (joins) {
        previous = slot;
        continue;
      }
      fn(start, startSlot, i - start);
      start = i;
      startSlot = slot;
      previous = slot;
    }
  }

  /**
   * Stores `data` (whole pages) at `offset`. All or nothing: when the pool runs out, the pages
   * this call added are released again and PoolExhaustedError is thrown.
   */
  write(offset: number, data: Uint8Array): void {
    this.check("write", offset, data.length);
    const first = offset / SWAP_PAGE_BYTES;
    const count = data.length / SWAP_PAGE_BYTES;
    const added: number[] = [];
    try {
      for (let i = 0; i < count; i++) {
        if (this.#slot(first + i) < 0) {
          this.#setSlot(first + i, this.#store.allocate());
          added.push(first + i);
        }
      }
    } catch (error) {
      for (const page of added) this.#clear(page);
      throw error;
    }
    this.#storedPages += added.length;
    this.#runs(first, count, (index, slot, pages) => {
      const at = index * SWAP_PAGE_BYTES;
      this.#store.run(slot, pages).set(data.subarray(at, at + pages * SWAP_PAGE_BYTES));
    });
  }

  /** Forgets the pages of a range (they read as zeros); returns how many held data. */
  discard(offset: number, length: number): number {
    this.check("discard", offset, length);
    let freed = 0;
    for (let page = offset / SWAP_PAGE_BYTES; page < (offset + length) / SWAP_PAGE_BYTES; page++) {
      if (this.#slot(page) >= 0) {
        this.#clear(page);
        freed++;
      }
    }
    this.#storedPages -= freed;
    return freed;
  }

  /** Releases every page (the region is then empty). */
  clear(): void {
    this.#tables.forEach((table, t) => {
      if (table === undefined) return;
      table.forEach((slot) => {
        if (slot >= 0) this.#store.release(slot);
      });
      this.#tables[t] = undefined;
    });
    this.#storedPages = 0;
  }

  #slot(page: number): number {
    return this.#tables[Math.floor(page / TABLE_PAGES)]?.[page % TABLE_PAGES] ?? -1;
  }

  #setSlot(page: number, slot: number): void {
    const t = Math.floor(page / TABLE_PAGES);
    let table = this.#tables[t];
    if (table === undefined) {
      table = new Int32Array(TABLE_PAGES).fill(-1);
      this.#tables[t] = table;
    }
    table[page % TABLE_PAGES] = slot;
  }

  #clear(page: number): void {
    const table = this.#tables[Math.floor(page / TABLE_PAGES)];
    const slot = table?.[page % TABLE_PAGES] ?? -1;
    if (table === undefined || slot < 0) return;
    this.#store.release(slot);
    table[page % TABLE_PAGES] = -1;
  }
}
