/**
 * The memory server's pool: memory reserved once at start, carved into regions handed to clients
 * and freed again. Independent of any transport (TCP and RDMA servers both allocate from it).
 * @module
 */
import { pointerOffset } from "../ffi/pointers.ts";
import { type AnonymousMapping, mapAnonymous, type PageKind } from "../ffi/memory.ts";

/** Allocation granularity of regions (sizes are rounded up to a multiple). */
export const REGION_ALIGN_BYTES = 4096;

/** Branded region id, unique for the life of a pool. */
export type RegionId = number & { readonly __brand: "RegionId" };

/** A region of the pool owned by one client. */
export interface Region {
  readonly id: RegionId;
  /** Byte offset of the region inside the pool. */
  readonly poolOffset: number;
  /** Size in bytes (a multiple of REGION_ALIGN_BYTES). */
  readonly sizeBytes: number;
  /** The region's memory. */
  readonly bytes: Uint8Array;
  /** Base address of the region's memory (for ibv_reg_mr); null for heap-backed test pools. */
  readonly pointer: Deno.PointerValue;
  /** Owner label (for statistics), e.g. the client id. */
  readonly owner: string;
}

/** The memory a pool carves regions from. */
export interface PoolBacking {
  readonly bytes: Uint8Array;
  /** Base address of `bytes`, or null when not known (heap memory in tests). */
  readonly pointer: Deno.PointerValue;
  readonly pageKind: PageKind | "heap";
  close(): void;
}

/** The pool has not enough free contiguous space for a request. */
export class PoolExhaustedError extends Error {
  readonly requestedBytes: number;
  readonly freeBytes: number;
  /** Creates the error for a request of `requestedBytes` when `freeBytes` are free. */
  constructor(requestedBytes: number, freeBytes: number) {
    super(`Cannot allocate ${requestedBytes} bytes: ${freeBytes} bytes free in the pool`);
    this.name = "PoolExhaustedError";
    this.requestedBytes = requestedBytes;
    this.freeBytes = freeBytes;
  }
}

interface Extent {
  offset: number;
  sizeBytes: number;
}

/** Summary of a pool's use. */
export interface PoolStats {
  capacityBytes: number;
  allocatedBytes: number;
  regions: number;
  pageKind: PoolBacking["pageKind"];
}

/**
 * A fixed-capacity pool. Allocation is first-fit over a sorted free list with coalescing on free.
 * @example
 * using pool = MemoryPool.reserve(64 * 1024 * 1024);
 * const region = pool.allocate(1 << 20, { owner: "client-1" });
 * region.bytes[0] = 42;
 * pool.free(region.id);
 */
export class MemoryPool {
  readonly #backing: PoolBacking;
  readonly #regions = new Map<RegionId, Region>();
  #free: Extent[];
  #nextId = 1;
  #allocatedBytes = 0;
  #closed = false;

  /** Wraps `backing`; its whole length becomes the capacity (rounded down to the alignment). */
  constructor(backing: PoolBacking) {
    this.#backing = backing;
    const capacity = Math.floor(backing.bytes.length / REGION_ALIGN_BYTES) * REGION_ALIGN_BYTES;
    this.#free = capacity > 0 ? [{ offset: 0, sizeBytes: capacity }] : [];
    this.capacityBytes = capacity;
  }

  /** Capacity in bytes. */
  readonly capacityBytes: number;

  /** Reserves `capacityBytes` of anonymous memory (huge pages when available) as a pool. */
  static reserve(capacityBytes: number, options: { populate?: boolean } = {}): MemoryPool {
    const mapping: AnonymousMapping = mapAnonymous(capacityBytes, {
      hugePages: true,
      populate: options.populate ?? false,
    });
    return new MemoryPool({
      bytes: mapping.bytes,
      pointer: mapping.pointer,
      pageKind: mapping.pageKind,
      close: () => mapping.close(),
    });
  }

  /** A pool on ordinary heap memory (tests, or platforms without mmap). */
  static onHeap(capacityBytes: number): MemoryPool {
    return new MemoryPool({
      bytes: new Uint8Array(capacityBytes),
      pointer: null,
      pageKind: "heap",
      close: () => {},
    });
  }

  /** Bytes handed out to regions. */
  get allocatedBytes(): number {
    return this.#allocatedBytes;
  }

  /** Current use. */
  stats(): PoolStats {
    return {
      capacityBytes: this.capacityBytes,
      allocatedBytes: this.#allocatedBytes,
      regions: this.#regions.size,
      pageKind: this.#backing.pageKind,
    };
  }

  /**
   * Allocates a zeroed region of at least `sizeBytes` (rounded up to REGION_ALIGN_BYTES).
   * Throws PoolExhaustedError when no free extent is large enough.
   */
  allocate(sizeBytes: number, options: { owner: string }): Region {
    this.#checkOpen();
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) {
      throw new RangeError(`Invalid region size ${sizeBytes}: expected a positive integer`);
    }
    const rounded = Math.ceil(sizeBytes / REGION_ALIGN_BYTES) * REGION_ALIGN_BYTES;
    const index = this.#free.findIndex((extent) => extent.sizeBytes >= rounded);
    const extent = this.#free[index];
    if (extent === undefined) {
      throw new PoolExhaustedError(rounded, this.capacityBytes - this.#allocatedBytes);
    }
    const offset = extent.offset;
    if (extent.sizeBytes === rounded) this.#free.splice(index, 1);
    else {
      extent.offset += rounded;
      extent.sizeBytes -= rounded;
    }
    const bytes = this.#backing.bytes.subarray(offset, offset + rounded);
    bytes.fill(0);
    const base = this.#backing.pointer;
    const region: Region = {
      id: this.#nextId++ as RegionId,
      poolOffset: offset,
      sizeBytes: rounded,
      bytes,
      pointer: base === null ? null : pointerOffset(base, offset),
      owner: options.owner,
    };
    this.#regions.set(region.id, region);
    this.#allocatedBytes += rounded;
    return region;
  }

  /** The region with `id`, if allocated. */
  get(id: number): Region | undefined {
    return this.#regions.get(id as RegionId);
  }

  /** Frees a region; returns false when it was not allocated. */
  free(id: number): boolean {
    const region = this.#regions.get(id as RegionId);
    if (region === undefined) return false;
    this.#regions.delete(region.id);
    this.#allocatedBytes -= region.sizeBytes;
    this.#insertFree({ offset: region.poolOffset, sizeBytes: region.sizeBytes });
    return true;
  }

  #insertFree(extent: Extent): void {
    let index = this.#free.findIndex((e) => e.offset > extent.offset);
    if (index === -1) index = this.#free.length;
    this.#free.splice(index, 0, extent);
    const next = this.#free[index + 1];
    if (next !== undefined && extent.offset + extent.sizeBytes === next.offset) {
      extent.sizeBytes += next.sizeBytes;
      this.#free.splice(index + 1, 1);
    }
    const previous = this.#free[index - 1];
    if (previous !== undefined && previous.offset + previous.sizeBytes === extent.offset) {
      previous.sizeBytes += extent.sizeBytes;
      this.#free.splice(index, 1);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new TypeError("The memory pool is closed");
  }

  /**
   * Releases the reserved memory. Refuses while regions are allocated, since their `bytes` view
   * the memory (an access after unmapping would crash the process): free every region first.
   * Idempotent.
   * @throws {TypeError} naming how many regions (and whose) are still allocated.
   */
  close(): void {
    if (this.#closed) return;
    if (this.#regions.size > 0) {
      const owners = [...new Set([...this.#regions.values()].map((r) => r.owner))];
      throw new TypeError(
        `Cannot close the memory pool: ${this.#regions.size} region(s) of ${this.#allocatedBytes} ` +
          `bytes are still allocated (owners: ${owners.slice(0, 5).join(", ")}` +
          `${owners.length > 5 ? ", ..." : ""}); free them first`,
      );
    }
    this.#closed = true;
    this.#regions.clear();
    this.#free = [];
    this.#backing.close();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
