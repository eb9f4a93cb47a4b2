/**
 * Stepped shrinking of a memory limit (pure). Lowering a limit far below current usage in one
 * write makes the kernel reclaim everything at once and, when it cannot swap fast enough,
 * OOM-kill the app; stepping down lets it swap out gradually.
 * @module
 */

/** How a cache limit moves from its current value to a target. */
export interface ShrinkPlan {
  /** Limits to write in order; the last one is the target. */
  stepsBytes: number[];
}

/** Tuning of {@link planCacheSteps}. */
export interface ShrinkOptions {
  /** Each step keeps at least this fraction of the previous one (default 0.8). */
  factor?: number;
  /** At most this many steps before the target (default 8). */
  maxSteps?: number;
}

/**
 * Plans the limit writes to go from `fromBytes` (the lower of the current limit and the current
 * usage) to `targetBytes`. Raises and small shrinks are one step.
 * @example planCacheSteps(1000, 500) // { stepsBytes: [800, 640, 512, 500] }
 */
export function planCacheSteps(
  fromBytes: number,
  targetBytes: number,
  options: ShrinkOptions = {},
): ShrinkPlan {
  const factor = options.factor ?? 0.8;
  const maxSteps = options.maxSteps ?? 8;
  if (!(factor > 0 && factor < 1)) throw new RangeError(`factor must be in (0, 1), got ${factor}`);
  const stepsBytes: number[] = [];
  let current = fromBytes;
  while (current * factor > targetBytes && stepsBytes.length < maxSteps) {
    current = Math.floor(current * factor);
    stepsBytes.push(current);
  }
  stepsBytes.push(targetBytes);
  return { stepsBytes };
}

/** cgroup v2 `memory.high` for a cache of `cacheBytes`: max(T - 256 MiB, 0.9 T), as Spirit did. */
export function memoryHighFor(cacheBytes: number): number {
  return Math.floor(Math.max(cacheBytes - 256 * 2 ** 20, 0.9 * cacheBytes));
}
