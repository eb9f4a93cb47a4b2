/**
 * A live-adjustable token bucket on bytes. A request is granted when the bucket is not in debt;
 * granting subtracts its size (the bucket may go negative), so over any window of T seconds the
 * granted bytes are at most rate x T + burst + one request. Waiters are served in FIFO order.
 * @module
 */

/** A clock (milliseconds) and a timer, injectable for tests. */
export interface LimiterClock {
  nowMs(): number;
  setTimeout(fn: () => void, delayMs: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/** A timer handle. */
export type TimerId = ReturnType<typeof setTimeout>;

const SYSTEM_CLOCK: LimiterClock = {
  nowMs: () => performance.now(),
  setTimeout: (fn, delayMs) => setTimeout(fn, delayMs),
  clearTimeout: (id) => clearTimeout(id),
};

/** Default burst: 1 % of a second's worth of bytes, at least 64 KiB. */
export function defaultBurstBytes(rateBytesPerSec: number): number {
  return Math.max(64 * 1024, Math.floor(rateBytesPerSec / 100));
}

interface Waiter {
  bytes: number;
  resolve: () => void;
}

/**
 * Limits remote bytes per second. A rate of 0 blocks every request until the rate is raised;
 * `Infinity` disables the limit.
 */
export class TokenBucket {
  #rate: number;
  #burst: number;
  #tokens: number;
  #lastMs: number;
  readonly #clock: LimiterClock;
  readonly #queue: Waiter[] = [];
  #timer: TimerId | undefined;
  /** Total bytes granted. */
  grantedBytes = 0;
  /** Milliseconds requests spent waiting (summed over requests). */
  waitedMs = 0;

  /** Creates a bucket at `rateBytesPerSec`, initially full. */
  constructor(
    rateBytesPerSec: number,
    options: { burstBytes?: number; clock?: LimiterClock } = {},
  ) {
    checkRate(rateBytesPerSec);
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#rate = rateBytesPerSec;
    this.#burst = options.burstBytes ?? defaultBurstBytes(rateBytesPerSec);
    this.#tokens = this.#burst;
    this.#lastMs = this.#clock.nowMs();
  }

  /** Current rate in bytes per second. */
  get rateBytesPerSec(): number {
    return this.#rate;
  }

  /** Current burst in bytes. */
  get burstBytes(): number {
    return this.#burst;
  }

  /** Requests waiting for tokens. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Changes the rate (and the burst, by default 1 % of the rate) from now on. */
  setRate(rateBytesPerSec: number, options: { burstBytes?: number } = {}): void {
    checkRate(rateBytesPerSec);
    this.#refill();
    this.#rate = rateBytesPerSec;
    this.#burst = options.burstBytes ?? defaultBurstBytes(rateBytesPerSec);
    this.#tokens = Math.min(this.#tokens, this.#burst);
    this.#schedule();
  }

  /**
   * Takes `bytes` tokens. Returns undefined when granted at once (the fast path, no promise),
   * otherwise a promise that resolves when granted.
   */
  take(bytes: number): Promise<void> | undefined {
    if (this.#rate === Number.POSITIVE_INFINITY) {
      this.grantedBytes += bytes;
      return undefined;
    }
    if (this.#queue.length === 0 && this.#rate > 0) {
      this.#refill();
      if (this.#tokens >= 0) {
        this.#tokens -= bytes;
        this.grantedBytes += bytes;
        return undefined;
      }
    }
    const startMs = this.#clock.nowMs();
    return new Promise<void>((resolve) => {
      this.#queue.push({
        bytes,
        resolve: () => {
          this.waitedMs += this.#clock.nowMs() - startMs;
          resolve();
        },
      });
      this.#schedule();
    });
  }

  /** Releases every waiter at once (used at shutdown) and stops the timer. */
  drain(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const waiter of this.#queue.splice(0)) waiter.resolve();
  }

  #refill(): void {
    const now = this.#clock.nowMs();
    const elapsedMs = now - this.#lastMs;
    this.#lastMs = now;
    if (elapsedMs > 0 && this.#rate > 0) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (this.#rate * elapsedMs) / 1000);
    }
  }

  #grantWaiters(): void {
    this.#refill();
    while (this.#queue.length > 0) {
      if (this.#rate === 0) break;
      if (this.#rate !== Number.POSITIVE_INFINITY && this.#tokens < 0) break;
      const waiter = this.#queue.shift();
      if (waiter === undefined) break;
      if (this.#rate !== Number.POSITIVE_INFINITY) this.#tokens -= waiter.bytes;
      this.grantedBytes += waiter.bytes;
      waiter.resolve();
    }
  }

  #schedule(): void {
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#grantWaiters();
    if (this.#queue.length === 0 || this.#rate === 0) return;
    const delayMs = Math.max(1, Math.ceil((-this.#tokens * 1000) / this.#rate));
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#schedule();
    }, delayMs);
  }
}

function checkRate(rateBytesPerSec: number): void {
  if (!(rateBytesPerSec >= 0)) {
    throw new RangeError(
      `Invalid bandwidth ${rateBytesPerSec} B/s: expected a non-negative number`,
    );
  }
}
