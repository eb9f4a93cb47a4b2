/**
 * State the swap daemon's I/O workers share with each other and with its main thread, in
 * SharedArrayBuffers: the state of every page of the device (never written, stored remotely,
 * lost), per-worker counters, each worker's connection state, and the node-level write cap (a
 * token bucket on bytes, changed live by the main thread). Preallocated once; the I/O path
 * allocates nothing here.
 * @module
 */

/** What the daemon knows about one 4 KiB page of the device. */
export const PageState = {
  /** Never written, or discarded: reads as zeros without asking the memory server. */
  EMPTY: 0,
  /** Written to the memory server. */
  STORED: 1,
  /** Was stored, but the memory server lost it: reads fail with EIO until it is written again. */
  LOST: 2,
} as const;

/** A worker's link to the memory server. */
export const LinkState = {
  CONNECTED: 0,
  /** Lost; retrying with backoff while I/O waits. */
  RECONNECTING: 1,
  /** Retries exhausted: I/O fails fast with EIO; a retry is made every few seconds. */
  UNAVAILABLE: 2,
} as const;

/** Per-worker counters, in this order. */
const COUNTERS = [
  "bytesRead",
  "bytesWritten",
  "bytesDiscarded",
  "readOps",
  "writeOps",
  "discardOps",
  "ioErrors",
  "storedPages",
  "lostPages",
  "reconnects",
  "writeCapWaitMs",
] as const;
/** A counter name. */
export type CounterName = (typeof COUNTERS)[number];
const COUNTER_INDEX = Object.fromEntries(COUNTERS.map((name, i) => [name, i])) as Record<
  CounterName,
  number
>;

/** Totals of every worker's counters. */
export type SwapCounters = Record<CounterName, number>;

// Int32 control cells.
const LOCK = 0;
const CONTROL_CELLS = 1;
// Float64 cells of the write cap.
const RATE = 0;
const BURST = 1;
const TOKENS = 2;
const LAST_MS = 3;

/** The buffers behind a {@link SwapSharedState}, as posted to a worker. */
export interface SharedBuffers {
  readonly pages: SharedArrayBuffer;
  readonly counters: SharedArrayBuffer;
  readonly links: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly cap: SharedArrayBuffer;
  readonly workers: number;
}

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** The real clock: wall time, and a blocking wait of the calling thread. */
const SYSTEM_CLOCK = {
  nowMs,
  sleepMs: (ms: number) => void Atomics.wait(sleepCell, 0, 0, ms),
};

/** Shared page states, counters, link states and write cap. */
export class SwapSharedState {
  readonly buffers: SharedBuffers;
  readonly #pages: Uint8Array;
  readonly #counters: Float64Array;
  readonly #links: Int32Array;
  readonly #control: Int32Array;
  readonly #cap: Float64Array;

  private constructor(buffers: SharedBuffers) {
    this.buffers = buffers;
    this.#pages = new Uint8Array(buffers.pages);
    this.#counters = new Float64Array(buffers.counters);
    this.#links = new Int32Array(buffers.links);
    this.#control = new Int32Array(buffers.control);
    this.#cap = new Float64Array(buffers.cap);
  }

  /** Allocates the state of a device of `pages` pages served by `workers` workers. */
  static create(options: { pages: number; workers: number }): SwapSharedState {
    const state = new SwapSharedState({
      pages: new SharedArrayBuffer(options.pages),
      counters: new SharedArrayBuffer(8 * COUNTERS.length * options.workers),
      links: new SharedArrayBuffer(4 * options.workers),
      control: new SharedArrayBuffer(4 * CONTROL_CELLS),
      cap: new SharedArrayBuffer(8 * 4),
      workers: options.workers,
    });
    state.setWriteCap(0);
    return state;
  }

  /** Wraps buffers created elsewhere (in a worker). */
  static attach(buffers: SharedBuffers): SwapSharedState {
    return new SwapSharedState(buffers);
  }

  /** Pages of the device. */
  get pages(): number {
    return this.#pages.length;
  }

  /** Adds `amount` to one of `worker`'s counters (only that worker writes its counters). */
  count(worker: number, name: CounterName, amount = 1): void {
    const index = worker * COUNTERS.length + COUNTER_INDEX[name];
    this.#counters[index] = (this.#counters[index] ?? 0) + amount;
  }

  /** Sums of every worker's counters. */
  totals(): SwapCounters {
    const totals = Object.fromEntries(COUNTERS.map((name) => [name, 0])) as SwapCounters;
    for (let w = 0; w < this.buffers.workers; w++) {
      for (const name of COUNTERS) {
        totals[name] += this.#counters[w * COUNTERS.length + COUNTER_INDEX[name]] ?? 0;
      }
    }
    return totals;
  }

  /** Sets every page of a range to `state`, keeping `worker`'s stored and lost counts exact. */
  mark(worker: number, first: number, count: number, state: number): void {
    let stored = 0;
    let lost = 0;
    for (let page = first; page < first + count; page++) {
      const before = Atomics.exchange(this.#pages, page, state);
      if (before === state) continue;
      if (before === PageState.STORED) stored--;
      if (before === PageState.LOST) lost--;
      if (state === PageState.STORED) stored++;
      if (state === PageState.LOST) lost++;
    }
    if (stored !== 0) this.count(worker, "storedPages", stored);
    if (lost !== 0) this.count(worker, "lostPages", lost);
  }

  /** Turns every stored page into a lost one (the memory server no longer has them). */
  markAllLost(worker: number): number {
    let lost = 0;
    for (let page = 0; page < this.#pages.length; page++) {
      if (
        Atomics.compareExchange(this.#pages, page, PageState.STORED, PageState.LOST) ===
          PageState.STORED
      ) lost++;
    }
    this.count(worker, "storedPages", -lost);
    this.count(worker, "lostPages", lost);
    return lost;
  }

  /** Summary of a range: whether any page is lost and whether every page is empty. */
  range(first: number, count: number): { anyLost: boolean; allEmpty: boolean } {
    let anyLost = false;
    let allEmpty = true;
    for (let page = first; page < first + count; page++) {
      const state = Atomics.load(this.#pages, page);
      if (state === PageState.LOST) anyLost = true;
      if (state !== PageState.EMPTY) allEmpty = false;
    }
    return { anyLost, allEmpty };
  }

  /** The state of one page. */
  page(page: number): number {
    return Atomics.load(this.#pages, page);
  }

  /** Sets `worker`'s link state. */
  setLink(worker: number, state: number): void {
    Atomics.store(this.#links, worker, state);
  }

  /** Every worker's link state. */
  links(): number[] {
    return Array.from({ length: this.buffers.workers }, (_, w) => Atomics.load(this.#links, w));
  }

  /** The write cap in bytes per second (0: none). */
  get writeCapBytesPerSec(): number {
    return this.#cap[RATE] ?? 0;
  }

  /** Changes the write cap (0 removes it); the burst is 10 ms worth, at least 1 MiB. */
  setWriteCap(bytesPerSec: number, now: number = nowMs()): void {
    if (!(bytesPerSec >= 0) || !Number.isFinite(bytesPerSec)) {
      throw new RangeError(`Write cap ${bytesPerSec} must be a non-negative number of bytes/s`);
    }
    this.#locked(() => {
      this.#cap[RATE] = bytesPerSec;
      this.#cap[BURST] = Math.max(1 << 20, bytesPerSec / 100);
      this.#cap[TOKENS] = this.#cap[BURST] ?? 0;
      this.#cap[LAST_MS] = now;
    });
  }

  /**
   * Takes `bytes` from the write cap, blocking the calling worker thread while the bucket is in
   * debt (never call it on the main thread). Returns the milliseconds waited. `clock` replaces
   * the time and the blocking wait in tests.
   */
  takeWrite(
    bytes: number,
    clock: { nowMs: () => number; sleepMs: (ms: number) => void } = SYSTEM_CLOCK,
  ): number {
    const debtMs = this.#locked(() => {
      const rate = this.#cap[RATE] ?? 0;
      if (rate === 0) return 0;
      const now = clock.nowMs();
      const burst = this.#cap[BURST] ?? 0;
      const tokens = Math.min(
        burst,
        (this.#cap[TOKENS] ?? 0) + (now - (this.#cap[LAST_MS] ?? now)) * rate / 1000,
      );
      this.#cap[LAST_MS] = now;
      const left = tokens - bytes;
      this.#cap[TOKENS] = left;
      // In debt, this request waits until its own share of the debt is paid off.
      return left >= 0 ? 0 : -left / rate * 1000;
    });
    if (debtMs > 0) clock.sleepMs(debtMs);
    return debtMs;
  }

  #locked<T>(fn: () => T): T {
    while (Atomics.compareExchange(this.#control, LOCK, 0, 1) !== 0) {
      // Held only for a few arithmetic operations.
    }
    try {
      return fn();
    } finally {
      Atomics.store(this.#control, LOCK, 0);
    }
  }
}
