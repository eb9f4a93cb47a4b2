/**
 * How much of each node's capacity was allocated, from the epoch records: the smallest share
 * of cache and of bandwidth held in force on any node in any of the given epochs (the market
 * must never leave capacity idle). Pure.
 * @module
 */
import type { EpochRecord } from "./types.ts";

/** Smallest allocated share of each good; null when no record says what was allocated. */
export interface AllocatedShare {
  minCacheShare: number | null;
  minBandwidthShare: number | null;
}

/** The smallest allocated shares over `records` (nodes without `allocated` are skipped). */
export function allocatedShare(records: readonly EpochRecord[]): AllocatedShare {
  let cache: number | null = null;
  let bandwidth: number | null = null;
  for (const record of records) {
    for (const node of record.nodes) {
      if (node.allocated === undefined) continue;
      if (node.cacheMiB > 0) {
        cache = Math.min(cache ?? Infinity, node.allocated.cacheMiB / node.cacheMiB);
      }
      if (node.bandwidthMbps > 0) {
        bandwidth = Math.min(
          bandwidth ?? Infinity,
          node.allocated.bandwidthMbps / node.bandwidthMbps,
        );
      }
    }
  }
  return { minCacheShare: cache, minBandwidthShare: bandwidth };
}
