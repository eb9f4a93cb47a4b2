/**
 * Which of an epoch's samples show an app in a settled state. After its cache grows, an app's
 * cache fills only as its misses bring pages in, which can take several epochs; until it is
 * full, its traffic and throughput describe a smaller cache than the one allocated, and a model
 * learned from them would be wrong. Pure.
 * @module
 */
import type { AppSample } from "../../agent/protocol.ts";

/** Growth of resident memory between two samples, as a share of the cache, that is filling. */
export const FILLING_SHARE = 0.02;
/** Resident memory, as a share of the cache, from which the cache counts as full. */
export const FULL_SHARE = 0.95;
/**
 * Share of the bytes read back from remote memory that stayed resident, above which the cache
 * is filling: in a full cache each page read in replaces one (none stays), in a filling one
 * every page read in stays.
 */
export const KEPT_SHARE = 0.5;

/**
 * True when the app's cache was not filling between `before` and `after`: it is full, or its
 * resident memory grew by less than FILLING_SHARE of the cache and by less than KEPT_SHARE of
 * what it read back. The second bound matters where the bandwidth is small against the cache:
 * the cache then fills by less than FILLING_SHARE a sample, yet for many epochs.
 */
export function settledBetween(before: AppSample, after: AppSample): boolean {
  const cache = after.allocation.cacheBytes;
  if (after.residentBytes >= FULL_SHARE * cache) return true;
  const grownBytes = after.residentBytes - before.residentBytes;
  const readBytes = after.swapInBytes - before.swapInBytes;
  const keeping = readBytes > 0 && grownBytes > KEPT_SHARE * readBytes;
  return grownBytes <= FILLING_SHARE * cache && !keeping;
}

/**
 * The longest run of samples at the end of `samples` (time order) in which the cache did not
 * fill, including the sample it starts from; empty when the last step was still filling.
 */
export function settledTail(samples: readonly AppSample[]): AppSample[] {
  let start = samples.length - 1;
  while (start > 0) {
    const before = samples[start - 1];
    const after = samples[start];
    if (before === undefined || after === undefined || !settledBetween(before, after)) break;
    start--;
  }
  if (samples.length >= 2 && start === samples.length - 1) return [];
  return samples.slice(Math.max(0, start));
}
