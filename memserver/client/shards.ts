/**
 * Online miss-ratio curve by SHARDS (Waldspurger et al., FAST '15): spatially hashed sampling of
 * page references at rate R, exact LRU stack distances among the sampled pages (a Fenwick tree
 * over access times), distances scaled by 1/R, and the SHARDS_adj correction of the first bucket.
 * The hot path (`access`) is one hash and one compare for unsampled pages. The curve counts the
 * references of the last `windowMs` only (stack distances still against the whole LRU stack), so
 * a program that changes phase gets its new phase's curve within a window rather than one
 * averaged over its whole run, where a phase with many references per second would drown a
 * later one with few.
 * @module
 */

/** Options of {@linkcode ShardsMrc}. */
export interface ShardsOptions {
  /** Number of distinct pages that can be referenced (page numbers are 0..datasetPages-1). */
  datasetPages: number;
  pageBytes: number;
  /** Sampling rate in (0, 1]; default {@linkcode defaultSampleRate}. */
  sampleRate?: number;
  /** Points in `curve()` (default 32). */
  points?: number;
  /**
   * The curve counts references of about the last this many ms (default
   * {@linkcode DEFAULT_MRC_WINDOW_MS}; `Infinity`: all since the last reset).
   */
  windowMs?: number;
  /** The clock of the window, ms (default `performance.now`). */
  nowMs?: () => number;
}

/** How far back the curve looks by default: two 5 s epochs. */
export const DEFAULT_MRC_WINDOW_MS = 10_000;

/** The counts at one moment; the window's counts are now's minus a snapshot's. */
interface Snapshot {
  atMs: number;
  histogram: Float64Array;
  sampled: number;
  accesses: number;
}

/**
 * The default sampling rate: 1 % of pages, raised for small datasets so that at least 2,048
 * distinct pages are sampled (below that the curve is too coarse to be useful).
 */
export function defaultSampleRate(datasetPages: number): number {
  return Math.min(1, Math.max(0.01, 2048 / Math.max(1, datasetPages)));
}

/** A 32-bit integer hash (murmur3 finalizer). */
export function hashPage(page: number): number {
  let x = page | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Online SHARDS miss-ratio curve over page references. */
export class ShardsMrc {
  readonly sampleRate: number;
  readonly #threshold: number;
  /** Pages whose hashPage() is below this are sampled. */
  get sampleThreshold(): number {
    return this.#threshold;
  }
  readonly #datasetPages: number;
  readonly #pageBytes: number;
  readonly #points: number;
  /** Last access time of each page (0 = never sampled). */
  readonly #lastTime: Int32Array;
  /** Pages ever sampled (for compaction). */
  #sampledPages: number[] = [];
  #tree: Int32Array;
  #clock = 0;
  /** Histogram of scaled stack distances, bucket width #bucketPages pages. */
  readonly #histogram: Float64Array;
  readonly #bucketPages: number;
  #cold = 0;
  #sampled = 0;
  /** All references seen (sampled or not) since the last reset. */
  accesses = 0;
  readonly #windowMs: number;
  readonly #nowMs: () => number;
  /** Snapshots at least a quarter window apart, oldest first (the oldest is the window's base). */
  #snapshots: Snapshot[] = [];

  /** Creates an empty curve. */
  constructor(options: ShardsOptions) {
    const rate = options.sampleRate ?? defaultSampleRate(options.datasetPages);
    if (!(rate > 0 && rate <= 1)) {
      throw new RangeError(`Invalid sample rate ${rate}: expected (0, 1]`);
    }
    this.sampleRate = rate;
    this.#threshold = rate >= 1 ? 0x1_0000_0000 : Math.floor(rate * 0x1_0000_0000);
    this.#datasetPages = options.datasetPages;
    this.#pageBytes = options.pageBytes;
    this.#points = options.points ?? 32;
    const windowMs = options.windowMs ?? DEFAULT_MRC_WINDOW_MS;
    if (!(windowMs > 0)) throw new RangeError(`Invalid MRC window ${windowMs} ms: expected > 0`);
    this.#windowMs = windowMs;
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#lastTime = new Int32Array(options.datasetPages);
    const expectedSampled = Math.ceil(options.datasetPages * rate) + 64;
    this.#tree = new Int32Array(Math.max(1024, 4 * expectedSampled) + 1);
    this.#bucketPages = Math.max(1, Math.ceil(options.datasetPages / 4096));
    this.#histogram = new Float64Array(Math.ceil(options.datasetPages / this.#bucketPages) + 1);
    this.#snapshots = [this.#emptySnapshot()];
  }

  /** The counts before any reference, now. */
  #emptySnapshot(): Snapshot {
    const histogram = new Float64Array(this.#histogram.length);
    return { atMs: this.#nowMs(), histogram, sampled: 0, accesses: 0 };
  }

  /** Records one reference to `page` (the hot path). */
  access(page: number): void {
    this.accesses++;
    if (hashPage(page) >= this.#threshold) return;
    this.#record(page);
  }

  /**
   * Records a reference to a page known to be sampled (`hashPage(page) < sampleThreshold`), for
   * callers that count accesses themselves (does not count the access).
   */
  recordSampled(page: number): void {
    this.#record(page);
  }

  /** Forgets the histogram and counts but keeps the recency of pages (e.g. after a warm-up). */
  resetHistogram(): void {
    this.#histogram.fill(0);
    this.#cold = 0;
    this.#sampled = 0;
    this.accesses = 0;
    this.#snapshots = [this.#emptySnapshot()];
  }

  #record(page: number): void {
    this.#sampled++;
    if (this.#clock + 1 >= this.#tree.length) this.#compact();
    const now = ++this.#clock;
    const last = this.#lastTime[page] ?? 0;
    if (last === 0) {
      this.#cold++;
      this.#sampledPages.push(page);
    } else {
      // Every sampled page has exactly one mark, all before `now`: the marks after `last` are
      // the distinct pages referenced since, i.e. the stack distance.
      const distance = this.#sampledPages.length - this.#prefix(last);
      const scaled = distance / this.sampleRate;
      const bucket = Math.min(this.#histogram.length - 1, Math.floor(scaled / this.#bucketPages));
      this.#histogram[bucket] = (this.#histogram[bucket] ?? 0) + 1;
      this.#add(last, -1);
    }
    this.#add(now, 1);
    this.#lastTime[page] = now;
  }

  #add(index: number, delta: number): void {
    const tree = this.#tree;
    for (let i = index; i < tree.length; i += i & -i) tree[i] = (tree[i] ?? 0) + delta;
  }

  #prefix(index: number): number {
    const tree = this.#tree;
    let sum = 0;
    for (let i = index; i > 0; i -= i & -i) sum += tree[i] ?? 0;
    return sum;
  }

  /** Renumbers access times 1..k in order, so the tree never overflows. */
  #compact(): void {
    const pages = this.#sampledPages.slice().sort(
      (a, b) => (this.#lastTime[a] ?? 0) - (this.#lastTime[b] ?? 0),
    );
    const size = Math.max(this.#tree.length, 4 * pages.length + 1);
    this.#tree = new Int32Array(size);
    pages.forEach((page, i) => {
      this.#lastTime[page] = i + 1;
      this.#add(i + 1, 1);
    });
    this.#clock = pages.length;
  }

  /**
   * Estimated LRU miss ratio with a cache of `cachePages` pages, over references since the last
   * reset; undefined before any sampled reference.
   */
  missRatio(cachePages: number): number | undefined {
    return this.#missRatioIn(this.#window(), cachePages);
  }

  /** The curve as [[cacheBytes, missRatio], ...] at evenly spaced sizes up to the dataset. */
  curve(): Array<[number, number]> {
    const window = this.#window();
    const result: Array<[number, number]> = [];
    for (let k = 1; k <= this.#points; k++) {
      const cachePages = Math.round((this.#datasetPages * k) / this.#points);
      const ratio = this.#missRatioIn(window, cachePages);
      if (ratio === undefined) return [];
      result.push([cachePages * this.#pageBytes, Math.round(ratio * 10000) / 10000]);
    }
    return result;
  }

  #missRatioIn(window: Omit<Snapshot, "atMs">, cachePages: number): number | undefined {
    const { histogram, sampled } = window;
    const expected = window.accesses * this.sampleRate;
    if (sampled <= 0 || expected <= 0) return undefined;
    // SHARDS_adj: the difference between expected and actual samples goes to the first bucket.
    let hits = expected - sampled;
    const fullBuckets = Math.floor(cachePages / this.#bucketPages);
    const limit = Math.min(fullBuckets, histogram.length);
    for (let b = 0; b < limit; b++) hits += histogram[b] ?? 0;
    if (fullBuckets < histogram.length - 1) {
      const fraction = (cachePages - fullBuckets * this.#bucketPages) / this.#bucketPages;
      hits += fraction * (histogram[fullBuckets] ?? 0);
    }
    return Math.min(1, Math.max(0, 1 - hits / expected));
  }

  /**
   * The counts of the window: now's minus those of the newest snapshot at least `windowMs` old
   * (early on, the empty one taken at the start or the last reset). Takes a snapshot when the newest is a quarter window old, so the
   * window spans `windowMs` to 1.25 `windowMs` when the curve is read at least that often.
   */
  #window(): Omit<Snapshot, "atMs"> {
    const now = this.#nowMs();
    const current = { histogram: this.#histogram, sampled: this.#sampled, accesses: this.accesses };
    if (this.#windowMs === Infinity) return current;
    const snapshots = this.#snapshots;
    const newest = snapshots.at(-1);
    if (newest === undefined || now - newest.atMs >= this.#windowMs / 4) {
      snapshots.push({ atMs: now, ...current, histogram: this.#histogram.slice() });
    }
    while (snapshots.length > 1 && now - (snapshots[1]?.atMs ?? now) >= this.#windowMs) {
      snapshots.shift();
    }
    const base = snapshots[0];
    if (base === undefined) return current;
    const histogram = this.#histogram.slice();
    for (let b = 0; b < histogram.length; b++) {
      histogram[b] = (histogram[b] ?? 0) - (base.histogram[b] ?? 0);
    }
    return {
      histogram,
      sampled: this.#sampled - base.sampled,
      accesses: this.accesses - base.accesses,
    };
  }
}
