/**
 * `stream`: STREAM-like kernels (copy, scale, add, triad) in sequential passes over three arrays
 * of float64 that together fill the dataset. Bandwidth-bound and cache-insensitive when the arrays
 * exceed the cache. One operation is one array element updated.
 * @module
 */
import type { PageCache } from "../memserver/client/page_cache.ts";
import { bulkWrite, type PageRange, type Workload } from "./workload.ts";

/** Options of {@linkcode StreamWorkload}. */
export interface StreamOptions {
  /** The scalar of scale and triad (default 3). */
  scalar?: number;
  /** Pages per step (default 8). */
  stepPages?: number;
}

const KERNELS = ["copy", "scale", "add", "triad"] as const;

/** The stream workload. */
export class StreamWorkload implements Workload {
  readonly name = "stream";
  readonly #a: number;
  readonly #b: number;
  readonly #c: number;
  readonly #arrayPages: number;
  readonly #scalar: number;
  readonly #stepPages: number;
  #kernel = 0;
  #page = 0;
  passes = 0;

  /** Lays out arrays a, b, c over `range`. */
  constructor(range: PageRange, options: StreamOptions = {}) {
    this.#arrayPages = Math.floor(range.pages / 3);
    if (this.#arrayPages < 1) throw new RangeError("stream needs a dataset of at least 3 pages");
    this.#a = range.firstPage;
    this.#b = range.firstPage + this.#arrayPages;
    this.#c = range.firstPage + 2 * this.#arrayPages;
    this.#scalar = options.scalar ?? 3;
    this.#stepPages = options.stepPages ?? 8;
  }

  /** Initialises a = 1, b = 2, c = 0. */
  async load(cache: PageCache): Promise<void> {
    const range = { firstPage: this.#a, pages: 2 * this.#arrayPages };
    await bulkWrite(cache, range, (page, bytes) => {
      new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8).fill(
        page < this.#b ? 1 : 2,
      );
    });
  }

  /**
   * Brings in the pages of one element range (recording one access each), then takes their
   * frames together, so no frame can be evicted between fetch and use.
   */
  async #pages(
    cache: PageCache,
    pages: readonly number[],
    writeLast: boolean,
  ): Promise<Float64Array[]> {
    const last = pages.length - 1;
    for (let i = 0; i <= last; i++) {
      const page = pages[i] ?? 0;
      const write = writeLast && i === last;
      if (cache.lookup(page, write) === undefined) await cache.fetch(page, write);
    }
    while (true) {
      const frames: Float64Array[] = [];
      for (let i = 0; i <= last; i++) {
        const page = pages[i] ?? 0;
        const frame = cache.resident(page, writeLast && i === last);
        if (frame === undefined) break;
        frames.push(new Float64Array(frame.buffer, frame.byteOffset, frame.length / 8));
      }
      if (frames.length === pages.length) return frames;
      const missing = pages[frames.length] ?? 0;
      await cache.fetch(missing, writeLast && frames.length === last);
    }
  }

  /** Processes `stepPages` pages of the current kernel. */
  async step(cache: PageCache): Promise<number> {
    let elements = 0;
    const s = this.#scalar;
    for (let n = 0; n < this.#stepPages; n++) {
      const i = this.#page;
      const kernel = KERNELS[this.#kernel];
      if (kernel === "copy") {
        const [a, c] = await this.#pages(cache, [this.#a + i, this.#c + i], true);
        if (a === undefined || c === undefined) throw new Error("unreachable: missing frames");
        c.set(a);
        elements += c.length;
      } else if (kernel === "scale") {
        const [c, b] = await this.#pages(cache, [this.#c + i, this.#b + i], true);
        if (c === undefined || b === undefined) throw new Error("unreachable: missing frames");
        for (let k = 0; k < b.length; k++) b[k] = s * (c[k] ?? 0);
        elements += b.length;
      } else if (kernel === "add") {
        const [a, b, c] = await this.#pages(cache, [this.#a + i, this.#b + i, this.#c + i], true);
        if (a === undefined || b === undefined || c === undefined) {
          throw new Error("unreachable: missing frames");
        }
        for (let k = 0; k < c.length; k++) c[k] = (a[k] ?? 0) + (b[k] ?? 0);
        elements += c.length;
      } else {
        const [b, c, a] = await this.#pages(cache, [this.#b + i, this.#c + i, this.#a + i], true);
        if (a === undefined || b === undefined || c === undefined) {
          throw new Error("unreachable: missing frames");
        }
        for (let k = 0; k < a.length; k++) a[k] = (b[k] ?? 0) + s * (c[k] ?? 0);
        elements += a.length;
      }
      this.#page++;
      if (this.#page >= this.#arrayPages) {
        this.#page = 0;
        this.#kernel = (this.#kernel + 1) % KERNELS.length;
        if (this.#kernel === 0) this.passes++;
      }
    }
    return elements;
  }

  /** Completed passes (all four kernels). */
  report(): Record<string, unknown> {
    return { arrayPages: this.#arrayPages, passes: this.passes };
  }
}
