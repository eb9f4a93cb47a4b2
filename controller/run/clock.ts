/**
 * The clock a run is driven by: `now` for epoch boundaries, `sleep` to wait for them, and
 * `wallTime` for the timestamps users read. The system clock here; a virtual one in the
 * simulator (controller/simulate/virtual_clock.ts), so a run's behaviour over time is tested
 * without waiting.
 * @module
 */

/** Time as a run sees it. */
export interface Clock {
  /** Monotonic milliseconds (any origin). */
  now(): number;
  /** Resolves after `ms` milliseconds, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Wall-clock time, Unix epoch milliseconds. */
  wallTime(): number;
}

/** Resolves after `ms` of real time, or at once when `signal` aborts (never rejects). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The machine's clock. */
export function systemClock(): Clock {
  return { now: () => performance.now(), sleep: abortableSleep, wallTime: () => Date.now() };
}
