/**
 * The far-memory client: a page cache over one remote region. Capacity (the app's cache
 * allocation) and remote bandwidth (a token bucket on bytes in both directions) change live.
 * CLOCK eviction, dirty write-back in batches, batched fetches, optional sequential prefetch,
 * counters and an online SHARDS miss-ratio curve. Depends only on the RemoteTransport interface.
 * @module
 */
import { hashPage, ShardsMrc } from "./shards.ts";
import { TokenBucket } from "./token_bucket.ts";
import type { RemoteRegion, RemoteTransport } from "./transport.ts";

/** Default page size. */
export const PAGE_BYTES = 4096;
/** The cache never holds fewer pages than this, whatever its byte capacity says. */
export const MIN_CACHE_PAGES = 16;

/** Cumulative counters of a page cache. */
export interface CacheCounters {
  accesses: number;
  hits: number;
  misses: number;
  remoteReadBytes: number;
  remoteWriteBytes: number;
  /** Milliseconds accesses spent waiting on remote memory (fetches and the limiter). */
  stallMs: number;
  evictions: number;
  writebacks: number;
  prefetchedPages: number;
  residentBytes: number;
  cacheBytes: number;
  bandwidthBytesPerSec: number;
}

/** Options of {@linkcode PageCache.open}. */
export interface PageCacheOptions {
  /** Bytes of remote memory the cache fronts (allocated as one region). */
  datasetBytes: number;
  cacheBytes: number;
  /** Remote bandwidth in bytes per second, both directions together; Infinity for none. */
  bandwidthBytesPerSec: number;
  pageBytes?: number;
  /** Sequential prefetch (default false). */
  prefetch?: boolean;
  /** Largest prefetch window in pages (default 64). */
  maxPrefetchPages?: number;
  /** SHARDS sampling rate; 0 disables the MRC (default: shards.ts defaultSampleRate). */
  mrcSampleRate?: number;
  /** Called for every remote transfer as it is granted by the limiter (for tracing). */
  onTransfer?: (bytes: number, direction: "read" | "write") => void;
}

interface WritebackItem {
  page: number;
  frame: Uint8Array;
  release: () => void;
}

/** Number of sequential streams the prefetcher tracks at once. */
const STREAMS = 8;
const EMPTY = -1;

/** A page cache over one remote region (see module docs). */
export class PageCache {
  readonly transport: RemoteTransport;
  readonly region: RemoteRegion;
  readonly pageBytes: number;
  /** Pages in the dataset (page numbers are 0..pages-1). */
  readonly pages: number;
  readonly limiter: TokenBucket;
  readonly mrc: ShardsMrc | undefined;
  /** hashPage() threshold of sampled pages; 0 when the MRC is off. */
  readonly #sampleThreshold: number;
  readonly #pageSlot: Int32Array;
  #slotPage = new Int32Array(0);
  #slotRef = new Uint8Array(0);
  #slotDirty = new Uint8Array(0);
  #slotPinned = new Uint8Array(0);
  #frames: Array<Uint8Array | undefined> = [];
  readonly #freeSlots: number[] = [];
  readonly #spareFrames: Uint8Array[] = [];
  #slotCount = 0;
  #hand = 0;
  /** Slots holding a page or reserved for one being fetched. */
  #used = 0;
  #capacityPages: number;
  #cacheBytes: number;
  readonly #pendingFetch = new Map<number, Promise<void>>();
  readonly #pendingWriteback = new Map<number, Promise<void>>();
  #writebackBatch: WritebackItem[] = [];
  #writebackScheduled = false;
  readonly #inflight = new Set<Promise<void>>();
  readonly #prefetch: boolean;
  readonly #maxPrefetchPages: number;
  readonly #streamNext = new Int32Array(STREAMS).fill(EMPTY);
  readonly #streamAhead = new Int32Array(STREAMS);
  #streamVictim = 0;
  readonly #onTransfer: PageCacheOptions["onTransfer"];
  #closed = false;
  #failure: Error | undefined;
  // Counters (plain fields: the hit path updates them).
  #accesses = 0;
  #hits = 0;
  #misses = 0;
  #remoteReadBytes = 0;
  #remoteWriteBytes = 0;
  #stallMs = 0;
  #evictions = 0;
  #writebacks = 0;
  #prefetchedPages = 0;

  /** Allocates the remote region and returns an empty cache over it. */
  static async open(transport: RemoteTransport, options: PageCacheOptions): Promise<PageCache> {
    const region = await transport.allocate(options.datasetBytes);
    return new PageCache(transport, region, options);
  }

  /** Creates a cache over an existing region (see {@linkcode PageCache.open}). */
  constructor(transport: RemoteTransport, region: RemoteRegion, options: PageCacheOptions) {
    this.transport = transport;
    this.region = region;
    this.pageBytes = options.pageBytes ?? PAGE_BYTES;
    this.pages = Math.floor(Math.min(options.datasetBytes, region.sizeBytes) / this.pageBytes);
    if (this.pages <= 0) {
      throw new RangeError(`Dataset of ${options.datasetBytes} bytes holds no page`);
    }
    this.#pageSlot = new Int32Array(this.pages).fill(EMPTY);
    this.#cacheBytes = checkCacheBytes(options.cacheBytes);
    this.#capacityPages = this.#pagesFor(options.cacheBytes);
    this.limiter = new TokenBucket(options.bandwidthBytesPerSec, {
      burstBytes: burstFor(options.bandwidthBytesPerSec, this.pageBytes),
    });
    const rate = options.mrcSampleRate;
    this.mrc = rate === 0 ? undefined : new ShardsMrc({
      datasetPages: this.pages,
      pageBytes: this.pageBytes,
      ...(rate === undefined ? {} : { sampleRate: rate }),
    });
    this.#sampleThreshold = this.mrc?.sampleThreshold ?? 0;
    this.#prefetch = options.prefetch ?? false;
    this.#maxPrefetchPages = options.maxPrefetchPages ?? 64;
    this.#onTransfer = options.onTransfer;
  }

  #pagesFor(cacheBytes: number): number {
    return Math.max(MIN_CACHE_PAGES, Math.floor(cacheBytes / this.pageBytes));
  }

  /** Current cache capacity in bytes. */
  get cacheBytes(): number {
    return this.#cacheBytes;
  }

  /** Pages currently resident. */
  get residentPages(): number {
    let resident = 0;
    for (let s = 0; s < this.#slotCount; s++) {
      if (this.#slotPage[s] !== EMPTY && this.#slotPinned[s] === 0) resident++;
    }
    return resident;
  }

  /**
   * Looks a page up: records one access and, on a hit, returns the page's bytes (valid until
   * the next await). Returns undefined on a miss; then call `fetch(page, write)`.
   */
  lookup(page: number, write: boolean): Uint8Array | undefined {
    this.#accesses++;
    // A hash, not a lookup table: no extra cache miss per access on large datasets.
    if (hashPage(page) < this.#sampleThreshold) this.mrc?.recordSampled(page);
    if (this.#prefetch) this.#detectSequential(page);
    const slot = this.#pageSlot[page];
    if (slot === undefined) {
      throw new RangeError(`Page ${page} outside the dataset of ${this.pages}`);
    }
    if (slot === EMPTY) return undefined;
    this.#hits++;
    this.#slotRef[slot] = 1;
    if (write) this.#slotDirty[slot] = 1;
    return this.#frames[slot];
  }

  /**
   * The bytes of a resident page without recording an access (sets its reference bit, and its
   * dirty bit when `write`); undefined when not resident.
   */
  resident(page: number, write: boolean): Uint8Array | undefined {
    const slot = this.#pageSlot[page];
    if (slot === undefined || slot === EMPTY) return undefined;
    this.#slotRef[slot] = 1;
    if (write) this.#slotDirty[slot] = 1;
    return this.#frames[slot];
  }

  /** Brings a page in after a failed `lookup` (records the miss). */
  async fetch(page: number, write: boolean): Promise<Uint8Array> {
    this.#misses++;
    const start = performance.now();
    try {
      while (true) {
        this.#checkUsable();
        const slot = this.#pageSlot[page];
        if (slot === undefined) throw new RangeError(`Page ${page} outside the dataset`);
        if (slot !== EMPTY) {
          this.#slotRef[slot] = 1;
          if (write) this.#slotDirty[slot] = 1;
          const frame = this.#frames[slot];
          if (frame !== undefined) return frame;
        }
        const pending = this.#pendingFetch.get(page);
        if (pending !== undefined) await pending;
        else await this.#track(this.#load([page], 1));
      }
    } finally {
      this.#stallMs += performance.now() - start;
    }
  }

  /** `lookup`, then `fetch` on a miss. */
  access(page: number, write: boolean): Promise<Uint8Array> {
    const frame = this.lookup(page, write);
    return frame === undefined ? this.fetch(page, write) : Promise.resolve(frame);
  }

  /** Fetches several pages in batches (no access is recorded; pages already cached are skipped). */
  async prefetchPages(pages: readonly number[]): Promise<void> {
    const wanted = pages.filter((p) =>
      p >= 0 && p < this.pages && this.#pageSlot[p] === EMPTY && !this.#pendingFetch.has(p)
    );
    const batch = this.#maxBatchPages();
    const loads: Promise<void>[] = [];
    for (let i = 0; i < wanted.length; i += batch) {
      loads.push(this.#track(this.#load(wanted.slice(i, i + batch), 0)));
    }
    await Promise.all(loads);
  }

  /** Largest batch the limiter and the transport allow (2 % of a second's bandwidth). */
  #maxBatchPages(): number {
    const byRate = Math.floor((this.limiter.rateBytesPerSec * 0.02) / this.pageBytes);
    const byTransport = Math.min(
      this.transport.maxBatchPages,
      Math.floor(this.transport.maxTransferBytes / this.pageBytes),
    );
    return Math.max(1, Math.min(this.#maxPrefetchPages, byTransport, byRate));
  }

  /** Reserves slots, takes tokens, reads the pages and installs them with reference bit `ref`. */
  async #load(pages: number[], ref: number): Promise<void> {
    const slots: number[] = [];
    const { promise: done, resolve: release } = Promise.withResolvers<void>();
    for (const page of pages) this.#pendingFetch.set(page, done);
    try {
      for (const page of pages) {
        const writeback = this.#pendingWriteback.get(page);
        if (writeback !== undefined) await writeback;
      }
      for (let i = 0; i < pages.length; i++) slots.push(this.#reserveSlot());
      const bytes = pages.length * this.pageBytes;
      const wait = this.limiter.take(bytes);
      if (wait !== undefined) await wait;
      this.#checkUsable();
      this.#onTransfer?.(bytes, "read");
      const frames = slots.map((slot) => this.#frameFor(slot));
      if (pages.length === 1) {
        const frame = frames[0];
        const page = pages[0];
        if (frame === undefined || page === undefined) throw new Error("unreachable: empty batch");
        await this.transport.read(this.region, page * this.pageBytes, frame);
      } else {
        await this.transport.readPages(this.region, pages.map((p) => p * this.pageBytes), frames);
      }
      this.#remoteReadBytes += bytes;
      if (ref === 0) this.#prefetchedPages += pages.length;
      pages.forEach((page, i) => {
        const slot = slots[i];
        if (slot === undefined) return;
        this.#slotPage[slot] = page;
        this.#slotRef[slot] = ref;
        this.#slotDirty[slot] = 0;
        this.#slotPinned[slot] = 0;
        this.#pageSlot[page] = slot;
      });
      slots.length = 0;
    } finally {
      for (const slot of slots) this.#releaseSlot(slot);
      for (const page of pages) this.#pendingFetch.delete(page);
      release();
    }
  }

  #frameFor(slot: number): Uint8Array {
    let frame = this.#frames[slot];
    if (frame === undefined) {
      frame = this.#spareFrames.pop() ?? new Uint8Array(this.pageBytes);
      this.#frames[slot] = frame;
    }
    return frame;
  }

  /** Takes a free slot, evicting with CLOCK when the cache is full; the slot comes back pinned. */
  #reserveSlot(): number {
    while (this.#used >= this.#capacityPages) {
      if (!this.#evictOne()) break;
    }
    let slot = this.#freeSlots.pop();
    if (slot === undefined) {
      slot = this.#slotCount;
      this.#growSlots(slot + 1);
    }
    this.#used++;
    this.#slotPage[slot] = EMPTY;
    this.#slotPinned[slot] = 1;
    return slot;
  }

  #releaseSlot(slot: number): void {
    this.#slotPinned[slot] = 0;
    this.#slotPage[slot] = EMPTY;
    const frame = this.#frames[slot];
    if (frame !== undefined && this.#spareFrames.length < 64) this.#spareFrames.push(frame);
    this.#frames[slot] = undefined;
    this.#freeSlots.push(slot);
    this.#used--;
  }

  #growSlots(count: number): void {
    if (count <= this.#slotPage.length) {
      this.#slotCount = Math.max(this.#slotCount, count);
      return;
    }
    const size = Math.max(count, this.#slotPage.length * 2, 64);
    const grow = <T extends Int32Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    this.#slotPage = grow(this.#slotPage, (n) => new Int32Array(n).fill(EMPTY));
    this.#slotRef = grow(this.#slotRef, (n) => new Uint8Array(n));
    this.#slotDirty = grow(this.#slotDirty, (n) => new Uint8Array(n));
    this.#slotPinned = grow(this.#slotPinned, (n) => new Uint8Array(n));
    this.#slotCount = count;
  }

  /** Evicts one unpinned page chosen by CLOCK; false when every slot is pinned. */
  #evictOne(): boolean {
    const count = this.#slotCount;
    for (let step = 0; step < 2 * count + 1; step++) {
      const slot = this.#hand;
      this.#hand = this.#hand + 1 >= count ? 0 : this.#hand + 1;
      const page = this.#slotPage[slot] ?? EMPTY;
      if (page === EMPTY || this.#slotPinned[slot] === 1) continue;
      if (this.#slotRef[slot] === 1) {
        this.#slotRef[slot] = 0;
        continue;
      }
      this.#evictSlot(slot, page);
      return true;
    }
    return false;
  }

  #evictSlot(slot: number, page: number): void {
    this.#pageSlot[page] = EMPTY;
    this.#evictions++;
    const frame = this.#frames[slot];
    if (this.#slotDirty[slot] === 1 && frame !== undefined) {
      // The frame goes to the write-back; the slot gets a fresh one.
      this.#frames[slot] = undefined;
      this.#queueWriteback(page, frame);
    }
    this.#slotDirty[slot] = 0;
    this.#slotRef[slot] = 0;
    this.#slotPage[slot] = EMPTY;
    const kept = this.#frames[slot];
    if (kept !== undefined && this.#spareFrames.length < 64) this.#spareFrames.push(kept);
    this.#frames[slot] = undefined;
    this.#freeSlots.push(slot);
    this.#used--;
  }

  #queueWriteback(page: number, frame: Uint8Array): void {
    const { promise: done, resolve: release } = Promise.withResolvers<void>();
    this.#pendingWriteback.set(page, done);
    this.#writebackBatch.push({ page, frame, release });
    const flushBatch = () => {
      this.#writebackScheduled = false;
      const batch = this.#writebackBatch;
      this.#writebackBatch = [];
      if (batch.length > 0) void this.#track(this.#writeBack(batch)).catch(() => {});
    };
    if (this.#writebackBatch.length >= this.#maxBatchPages()) flushBatch();
    else if (!this.#writebackScheduled) {
      this.#writebackScheduled = true;
      queueMicrotask(flushBatch);
    }
    void done.then(() => {
      if (this.#pendingWriteback.get(page) === done) this.#pendingWriteback.delete(page);
    });
  }

  async #writeBack(batch: WritebackItem[]): Promise<void> {
    try {
      const bytes = batch.length * this.pageBytes;
      const wait = this.limiter.take(bytes);
      if (wait !== undefined) await wait;
      this.#checkUsable();
      this.#onTransfer?.(bytes, "write");
      const offsets = batch.map((b) => b.page * this.pageBytes);
      if (batch.length === 1) {
        const only = batch[0];
        if (only !== undefined) {
          await this.transport.write(this.region, only.page * this.pageBytes, only.frame);
        }
      } else {
        await this.transport.writePages(this.region, offsets, batch.map((b) => b.frame));
      }
      this.#remoteWriteBytes += bytes;
      this.#writebacks += batch.length;
      for (const { frame } of batch) {
        if (this.#spareFrames.length < 64) this.#spareFrames.push(frame);
      }
    } finally {
      for (const { release } of batch) release();
    }
  }

  #track(work: Promise<void>): Promise<void> {
    const tracked = work.catch((error) => {
      this.#failure ??= error instanceof Error ? error : new Error(String(error));
      throw error;
    }).finally(() => this.#inflight.delete(tracked));
    // Keep a handled copy so background work never surfaces as an unhandled rejection.
    tracked.catch(() => {});
    this.#inflight.add(tracked);
    return tracked;
  }

  #checkUsable(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#closed) throw new TypeError("The page cache is closed");
  }

  /** Sequential detection: on the second consecutive page of a stream, read ahead. */
  #detectSequential(page: number): void {
    for (let i = 0; i < STREAMS; i++) {
      if (this.#streamNext[i] !== page) continue;
      this.#streamNext[i] = page + 1;
      const window = Math.min(
        this.#maxPrefetchPages,
        Math.floor(this.#capacityPages / (2 * STREAMS)),
      );
      const ahead = this.#streamAhead[i] ?? page;
      if (window >= 2 && ahead - page < window / 2) {
        const from = Math.max(ahead, page) + 1;
        const to = Math.min(this.pages - 1, page + window);
        const list: number[] = [];
        for (let p = from; p <= to; p++) list.push(p);
        this.#streamAhead[i] = to;
        // Failures surface through #failure on the next access.
        if (list.length > 0) this.prefetchPages(list).catch(() => {});
      }
      return;
    }
    const victim = this.#streamVictim;
    this.#streamVictim = (victim + 1) % STREAMS;
    this.#streamNext[victim] = page + 1;
    this.#streamAhead[victim] = page;
  }

  /** Changes the cache capacity and the bandwidth limit live; shrinking evicts at once. */
  async setLimits(limits: { cacheBytes: number; bandwidthBytesPerSec: number }): Promise<void> {
    this.#checkUsable();
    this.#cacheBytes = checkCacheBytes(limits.cacheBytes);
    this.#capacityPages = this.#pagesFor(limits.cacheBytes);
    this.limiter.setRate(limits.bandwidthBytesPerSec, {
      burstBytes: burstFor(limits.bandwidthBytesPerSec, this.pageBytes),
    });
    while (this.#used > this.#capacityPages) {
      if (!this.#evictOne()) break;
    }
    while (
      this.#spareFrames.length > 0 && this.#used + this.#spareFrames.length > this.#capacityPages
    ) {
      this.#spareFrames.pop();
    }
    await this.#settleWritebacks();
  }

  async #settleWritebacks(): Promise<void> {
    await Promise.resolve();
    await Promise.all([...this.#pendingWriteback.values()]);
  }

  /** Writes every dirty page back (pages stay cached, now clean). */
  async flush(): Promise<void> {
    this.#checkUsable();
    for (let slot = 0; slot < this.#slotCount; slot++) {
      const page = this.#slotPage[slot] ?? EMPTY;
      const frame = this.#frames[slot];
      if (page === EMPTY || this.#slotDirty[slot] !== 1 || frame === undefined) continue;
      this.#slotDirty[slot] = 0;
      this.#queueWriteback(page, frame.slice());
    }
    await this.#settleWritebacks();
  }

  /** Cumulative counters. */
  counters(): CacheCounters {
    return {
      accesses: this.#accesses,
      hits: this.#hits,
      misses: this.#misses,
      remoteReadBytes: this.#remoteReadBytes,
      remoteWriteBytes: this.#remoteWriteBytes,
      stallMs: this.#stallMs,
      evictions: this.#evictions,
      writebacks: this.#writebacks,
      prefetchedPages: this.#prefetchedPages,
      residentBytes: this.residentPages * this.pageBytes,
      cacheBytes: this.#cacheBytes,
      bandwidthBytesPerSec: this.limiter.rateBytesPerSec,
    };
  }

  /** Zeroes the access counters and the MRC histogram (page recency is kept), e.g. after warm-up. */
  resetCounters(): void {
    this.#accesses = 0;
    this.#hits = 0;
    this.#misses = 0;
    this.#stallMs = 0;
    this.mrc?.resetHistogram();
  }

  /** The current miss-ratio curve, [[cacheBytes, missRatio], ...]; empty without MRC or samples. */
  curve(): Array<[number, number]> {
    if (this.mrc === undefined) return [];
    // The cache counts accesses; the MRC sees only sampled ones (see lookup).
    this.mrc.accesses = this.#accesses;
    return this.mrc.curve();
  }

  /** Stops background work and frees the remote region. Idempotent. */
  async close(options: { freeRegion?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.limiter.drain();
    await Promise.allSettled([...this.#inflight]);
    if (options.freeRegion ?? true) {
      try {
        await this.transport.free(this.region);
      } catch (error) {
        if (this.#failure === undefined) throw error;
      }
    }
  }
}

function checkCacheBytes(cacheBytes: number): number {
  if (!(cacheBytes >= 0) || !Number.isFinite(cacheBytes)) {
    throw new RangeError(`Invalid cache size ${cacheBytes}: expected a finite non-negative number`);
  }
  return cacheBytes;
}

/** Limiter burst: 1 % of a second's bandwidth, at least one page. */
function burstFor(rateBytesPerSec: number, pageBytes: number): number {
  if (rateBytesPerSec === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  return Math.max(pageBytes, Math.floor(rateBytesPerSec / 100));
}
