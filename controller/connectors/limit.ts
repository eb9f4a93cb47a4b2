/**
 * Bounding how much the controller does at once over SSH: a counting semaphore shared by the
 * connectors of a run (every ssh connection attempt, command and process start takes a slot),
 * and a pool that maps over hosts at most N at a time. For clusters larger than what one
 * controller should handshake with at once (each SSH connection costs a key exchange, a process
 * and file descriptors).
 * @module
 */

/** A counting semaphore: at most `max` holders at once, the others wait in order. */
export class Limiter {
  readonly max: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`A limit must be a whole number from 1 (got ${max})`);
    }
    this.max = max;
  }

  /** Holders right now. */
  get active(): number {
    return this.#active;
  }

  /** Waits for a slot; resolves with the function that gives it back (call it once). */
  async acquire(): Promise<() => void> {
    if (this.#active >= this.max) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter (it stays counted as active).
      if (next !== undefined) next();
      else this.#active--;
    };
  }

  /** Runs `action` in a slot. */
  async run<T>(action: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await action();
    } finally {
      release();
    }
  }
}

/**
 * Maps `items` through `action` with at most `max` at once, results in input order; every
 * item's outcome settles (like Promise.allSettled).
 * @example await mapLimited(hosts, 16, (h) => probe(h));
 */
export async function mapLimited<T, R>(
  items: readonly T[],
  max: number,
  action: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const limiter = new Limiter(max);
  return await Promise.allSettled(items.map((item, i) => limiter.run(() => action(item, i))));
}
