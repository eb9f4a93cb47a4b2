/**
 * Applies allocations to one cgroup: bandwidth at once, cache raises at once, cache shrinks
 * in steps (each step waits until usage has come down or 1 s has passed) so the kernel swaps
 * instead of OOM-killing. A newer allocation cancels a shrink in progress.
 * @module
 */
import type { Allocation } from "../protocol.ts";
import type { Cgroup } from "../cgroup/cgroup.ts";
import { CgroupWriteError } from "../cgroup/files.ts";
import { planCacheSteps } from "../cgroup/shrink.ts";

/** Tuning of the stepped shrink. */
export interface EnforcerOptions {
  /** Longest wait between two steps (default 1000 ms). */
  stepTimeoutMs?: number;
  /** Reports problems that happen after `apply` returned (a failed step). */
  onWarning?: (message: string) => void;
}

/** Keeps one cgroup at its allocation. */
export class CgroupEnforcer {
  readonly #cgroup: Cgroup;
  #devices: readonly string[];
  readonly #options: EnforcerOptions;
  #limitBytes: number | null = null;
  #generation = 0;
  #stepping: Promise<void> = Promise.resolve();
  #writing: Promise<void> = Promise.resolve();

  constructor(cgroup: Cgroup, devices: readonly string[], options: EnforcerOptions = {}) {
    this.#cgroup = cgroup;
    this.#devices = devices;
    this.#options = options;
  }

  /**
   * Applies `allocation`. Returns `immediate` when every limit is in force on return, or
   * `stepping` when a cache shrink continues in the background. A shrink below current usage is
   * never awaited: on cgroup v1 the kernel reclaims inside the write, which can take tens of
   * seconds while the app keeps touching its pages (seen with memcached under load), and the
   * controller must get its answer at once.
   */
  async apply(allocation: Allocation): Promise<"immediate" | "stepping"> {
    const generation = ++this.#generation;
    await this.#cgroup.writeBandwidth(this.#devices, allocation.bandwidthBytesPerSec);
    const target = allocation.cacheBytes;
    const usage = (await this.#cgroup.readSnapshot(this.#devices)).residentBytes;
    if (target >= usage) {
      await this.#writeLimit(target, generation);
      return "immediate";
    }
    const from = Math.min(this.#limitBytes ?? Infinity, usage);
    this.#stepping = this.#continueSteps(generation, planCacheSteps(from, target).stepsBytes);
    return "stepping";
  }

  /** Throttles `devices` from the next allocation on (the caller applies the current one). */
  setDevices(devices: readonly string[]): void {
    this.#devices = [...devices];
  }

  /** Resolves when the shrink in progress (if any) has finished or been superseded. */
  settled(): Promise<void> {
    return this.#stepping;
  }

  /** Stops any shrink in progress. */
  cancel(): void {
    this.#generation++;
  }

  async #continueSteps(generation: number, steps: number[]): Promise<void> {
    const timeoutMs = this.#options.stepTimeoutMs ?? 1000;
    try {
      for (const step of steps) {
        const deadline = Date.now() + timeoutMs;
        // No limit written yet: nothing to wait for before the first step.
        const previous = this.#limitBytes ?? Infinity;
        while (Date.now() < deadline) {
          if (generation !== this.#generation) return;
          const usage = (await this.#cgroup.readSnapshot(this.#devices)).residentBytes;
          if (usage <= previous) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        if (generation !== this.#generation) return;
        await this.#writeLimitRetrying(step, generation);
      }
    } catch (error) {
      this.#options.onWarning?.(
        `Cache shrink stopped: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /**
   * Writes `bytes`, riding out v1's EBUSY (a reclaim pass made no progress, typically while the
   * app re-touches every page): each refusal tries a limit halfway down instead, so the limit
   * keeps moving, until the target holds, a newer allocation supersedes it, or 30 s pass.
   */
  async #writeLimitRetrying(bytes: number, generation: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    let attempt = bytes;
    for (;;) {
      try {
        await this.#writeLimit(attempt, generation);
        if (generation !== this.#generation || attempt === bytes) return;
        attempt = bytes;
      } catch (error) {
        if (!(error instanceof CgroupWriteError && error.busy) || Date.now() > deadline) {
          throw error;
        }
        if (generation !== this.#generation) return;
        const current = this.#limitBytes ??
          (await this.#cgroup.readSnapshot(this.#devices)).residentBytes;
        const halfway = Math.floor(current - (current - attempt) / 2);
        attempt = halfway > bytes && halfway < current ? halfway : bytes;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  /**
   * Writes one limit, one write at a time: a v1 write may block in reclaim, and a step of a
   * superseded shrink must never land after a newer allocation's write. Writes of an older
   * generation are skipped once a newer allocation exists.
   */
  #writeLimit(bytes: number, generation = this.#generation): Promise<void> {
    const write = this.#writing.then(async () => {
      if (generation !== this.#generation) return;
      await this.#cgroup.writeCacheLimit(bytes);
      this.#limitBytes = bytes;
    });
    // The caller gets any error through `write`; the queue itself must keep going.
    this.#writing = write.catch(() => {});
    return write;
  }
}
