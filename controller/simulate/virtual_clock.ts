/**
 * A virtual clock: `sleep` advances time at once, and whoever
 * simulates the world listens to the advances. A run driven by it covers an hour of epochs in
 * seconds, deterministically.
 * @module
 */
import type { Clock } from "../run/clock.ts";

/** Virtual time; implements the run's `Clock`. */
export class VirtualClock implements Clock {
  readonly #startWallMs: number;
  readonly #listeners = new Set<(nowMs: number) => void | Promise<void>>();
  #nowMs = 0;

  /** Virtual time starts at 0; wall time at `startWallMs` (default: now). */
  constructor(options: { startWallMs?: number } = {}) {
    this.#startWallMs = options.startWallMs ?? Date.now();
  }

  /** Virtual milliseconds since the clock was made. */
  now(): number {
    return this.#nowMs;
  }

  /** The wall time the virtual time stands for, Unix epoch ms. */
  wallTime(): number {
    return this.#startWallMs + this.#nowMs;
  }

  /** Advances time by `ms` (none when `signal` aborted); see {@linkcode advance}. */
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    await Promise.resolve();
    if (!signal?.aborted) await this.advance(ms);
  }

  /**
   * Moves time forward by `ms`, tells every listener, and resolves once the promises they
   * returned have (a listener returns one when what happened must be seen before time goes on).
   */
  async advance(ms: number): Promise<void> {
    this.#nowMs += Math.max(0, ms);
    const pending = [...this.#listeners].map((listener) => listener(this.#nowMs));
    await Promise.all(pending);
  }

  /** Calls `listener` with the new time after every advance; returns the unsubscribe. */
  onAdvance(listener: (nowMs: number) => void | Promise<void>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
