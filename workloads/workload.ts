/**
 * What every synthetic far-memory workload implements: it works on a range of pages of a page
 * cache and advances in steps, each returning the application operations it completed.
 * @module
 */
import type { PageCache } from "../memserver/client/page_cache.ts";

/** A range of pages of a cache that one workload owns. */
export interface PageRange {
  firstPage: number;
  pages: number;
}

/** One synthetic application. */
export interface Workload {
  readonly name: string;
  /** Writes the initial contents straight to remote memory (outside the cache and limiter). */
  load(cache: PageCache): Promise<void>;
  /** Runs a small batch of operations and returns how many completed. */
  step(cache: PageCache): Promise<number>;
  /** The phase it is in, for workloads that change behaviour over time (reported in samples). */
  readonly currentPhase?: string;
  /** Extra figures for the final report (per phase, checks done, ...). */
  report?(): Record<string, unknown>;
}

/** Writes `fill(page, bytes)` for every page of `range` directly through the transport, in 1 MiB chunks. */
export async function bulkWrite(
  cache: PageCache,
  range: PageRange,
  fill: (page: number, bytes: Uint8Array) => void,
): Promise<void> {
  const pagesPerChunk = Math.max(1, Math.floor(cache.transport.maxTransferBytes / cache.pageBytes));
  const inFlight: Promise<void>[] = [];
  for (let first = 0; first < range.pages; first += pagesPerChunk) {
    const count = Math.min(pagesPerChunk, range.pages - first);
    const chunk = new Uint8Array(count * cache.pageBytes);
    for (let i = 0; i < count; i++) {
      fill(
        range.firstPage + first + i,
        chunk.subarray(i * cache.pageBytes, (i + 1) * cache.pageBytes),
      );
    }
    inFlight.push(
      cache.transport.write(cache.region, (range.firstPage + first) * cache.pageBytes, chunk),
    );
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
}
