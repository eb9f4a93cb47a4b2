/**
 * Waiting for a promise at most a while (real time): for network operations whose answer may
 * never come (an unreachable host), so that the loop can go on without it.
 * @module
 */

/**
 * Resolves with what `promise` resolves to if it settles within `ms`, else with null (the
 * promise goes on; its rejection, if it rejects within `ms`, is thrown).
 * @example const outcome = await within(slot.attach(), 2000); // null: still trying
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
