/**
 * `kv`: a key-value store over the far-memory cache. Keys have zipfian popularity (scattered over
 * the dataset), values a fixed size; a configurable share of operations are reads. Every value
 * carries its key, and every read checks it, so lost or misplaced pages are detected.
 * @module
 */
import type { PageCache } from "../memserver/client/page_cache.ts";
import { scatter, seededRandom, Zipf } from "./random.ts";
import { bulkWrite, type PageRange, type Workload } from "./workload.ts";

/** Options of {@linkcode KvWorkload}. */
export interface KvOptions {
  /** Bytes per value (a divisor-friendly size up to the page size; default 256). */
  valueBytes?: number;
  /** Zipf skew of key popularity (default 0.99). */
  skew?: number;
  /** Share of reads, 0..1 (default 0.95). */
  readRatio?: number;
  seed?: number;
  /** Operations per step (default 256). */
  stepOps?: number;
  /** Requests in flight at once, like a server with that many clients (default 4). */
  concurrency?: number;
}

/** A value failed its check: the far-memory layer returned the wrong bytes. */
export class KvCorruptionError extends Error {
  /** Creates the error for `key`, which read back as `found`. */
  constructor(key: number, found: number) {
    super(`kv: value of key ${key} carries key ${found}: far memory returned wrong data`);
    this.name = "KvCorruptionError";
  }
}

/** The kv workload. */
export class KvWorkload implements Workload {
  readonly name = "kv";
  readonly keys: number;
  readonly #range: PageRange;
  readonly #valueBytes: number;
  readonly #perPage: number;
  readonly #readRatio: number;
  readonly #zipf: Zipf;
  readonly #random: () => number;
  readonly #scatter: (rank: number) => number;
  readonly #stepOps: number;
  readonly #concurrency: number;
  reads = 0;
  writes = 0;

  /** Lays keys over `range` of the cache. */
  constructor(range: PageRange, pageBytes: number, options: KvOptions = {}) {
    this.#range = range;
    this.#valueBytes = options.valueBytes ?? 256;
    if (!(this.#valueBytes >= 8 && this.#valueBytes <= pageBytes)) {
      throw new RangeError(
        `Invalid value size ${this.#valueBytes}: expected 8..${pageBytes} bytes`,
      );
    }
    this.#perPage = Math.floor(pageBytes / this.#valueBytes);
    this.keys = range.pages * this.#perPage;
    this.#readRatio = options.readRatio ?? 0.95;
    if (!(this.#readRatio >= 0 && this.#readRatio <= 1)) {
      throw new RangeError(`Invalid read ratio ${this.#readRatio}: expected 0..1`);
    }
    this.#random = seededRandom(options.seed ?? 1);
    this.#zipf = new Zipf(this.keys, options.skew ?? 0.99, seededRandom((options.seed ?? 1) + 7));
    this.#scatter = scatter(this.keys);
    this.#stepOps = options.stepOps ?? 256;
    this.#concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(this.#concurrency) || this.#concurrency < 1) {
      throw new RangeError(`Invalid concurrency ${this.#concurrency}: expected an integer >= 1`);
    }
  }

  /** Writes every key's initial value. */
  async load(cache: PageCache): Promise<void> {
    const perPage = this.#perPage;
    const valueBytes = this.#valueBytes;
    const firstPage = this.#range.firstPage;
    await bulkWrite(cache, this.#range, (page, bytes) => {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      for (let i = 0; i < perPage; i++) {
        view.setUint32(i * valueBytes, (page - firstPage) * perPage + i, true);
      }
    });
  }

  /** Runs `stepOps` gets and puts, `concurrency` at a time. */
  async step(cache: PageCache): Promise<number> {
    const perWorker = Math.ceil(this.#stepOps / this.#concurrency);
    if (this.#concurrency === 1) return await this.#worker(cache, perWorker);
    const workers: Promise<number>[] = [];
    for (let w = 0; w < this.#concurrency; w++) workers.push(this.#worker(cache, perWorker));
    let ops = 0;
    for (const done of await Promise.all(workers)) ops += done;
    return ops;
  }

  async #worker(cache: PageCache, count: number): Promise<number> {
    for (let op = 0; op < count; op++) {
      const key = this.#scatter(this.#zipf.next());
      const page = this.#range.firstPage + Math.floor(key / this.#perPage);
      const at = (key % this.#perPage) * this.#valueBytes;
      const write = this.#random() >= this.#readRatio;
      let frame = cache.lookup(page, write);
      while (frame === undefined) {
        await cache.fetch(page, write);
        // Taken again synchronously: another worker's fetch may have evicted it meanwhile.
        frame = cache.resident(page, write);
      }
      const view = new DataView(frame.buffer, frame.byteOffset + at, this.#valueBytes);
      const found = view.getUint32(0, true);
      if (found !== key) throw new KvCorruptionError(key, found);
      if (write) {
        view.setUint32(4, view.getUint32(4, true) + 1, true);
        this.writes++;
      } else this.reads++;
    }
    return count;
  }

  /** Reads and writes done. */
  report(): Record<string, unknown> {
    return { keys: this.keys, reads: this.reads, writes: this.writes };
  }
}
