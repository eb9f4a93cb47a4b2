/**
 * Miss-ratio curves from sampled data addresses (pure). Pages are ranked by how often they
 * were sampled; a cache holding the `k` most-sampled pages misses the rest, so
 * missRatio(k pages) = 1 - (samples of the top k pages) / (all samples). This is the
 * page-frequency construction Spirit used with PEBS LLC-miss samples; it only exists where
 * hardware counters do.
 * @module
 */

/** Counts samples per page (address >> log2(pageBytes)). */
export class PageHistogram {
  readonly #counts = new Map<bigint, number>();
  readonly #shift: bigint;
  total = 0;
  constructor(pageBytes = 4096) {
    this.#shift = BigInt(Math.log2(pageBytes));
  }
  /** Records one sampled data address. */
  add(address: bigint): void {
    if (address === 0n) return;
    const page = address >> this.#shift;
    this.#counts.set(page, (this.#counts.get(page) ?? 0) + 1);
    this.total++;
  }
  /** Sample counts per distinct page. */
  counts(): number[] {
    return [...this.#counts.values()];
  }
}

/**
 * The curve at `points` cache sizes spaced geometrically from one page to all sampled pages,
 * as [cacheBytes, missRatio] (empty when there are no samples).
 */
export function mrcFromPageCounts(
  counts: readonly number[],
  options: { pageBytes?: number; points?: number } = {},
): Array<[number, number]> {
  const pageBytes = options.pageBytes ?? 4096;
  const points = options.points ?? 64;
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return [];
  const sorted = [...counts].sort((a, b) => b - a);
  const prefix: number[] = [0];
  for (const c of sorted) prefix.push((prefix.at(-1) ?? 0) + c);
  const pages = sorted.length;
  const curve: Array<[number, number]> = [];
  let lastPages = 0;
  for (let i = 0; i < points; i++) {
    const k = Math.max(1, Math.round(pages ** (points === 1 ? 1 : i / (points - 1))));
    if (k === lastPages) continue;
    lastPages = k;
    curve.push([k * pageBytes, 1 - (prefix[k] ?? total) / total]);
  }
  return curve;
}
