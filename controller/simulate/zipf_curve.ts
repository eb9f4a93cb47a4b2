/**
 * The LRU miss-ratio curve of the kv workload: keys of zipfian popularity scattered over pages
 * exactly as workloads/kv.ts lays them out, and the hit ratio of an LRU cache of each size
 * from Che's approximation (each page stays cached for a characteristic time T set by the cache
 * size). Pure.
 * @module
 */
import { scatter } from "../../workloads/random.ts";

/** What the kv workload's layout depends on. */
export interface KvLayout {
  datasetBytes: number;
  valueBytes: number;
  /** Zipf exponent of key popularity. */
  zipf: number;
  pageBytes?: number;
}

/** Keys whose popularity is placed exactly; the rest is spread evenly (it is a thin tail). */
const EXACT_KEYS = 1 << 21;
/** Popularity classes the pages are grouped into (log-spaced) for the approximation. */
const CLASSES = 2000;

/** Sum of (r + 1)^-theta over ranks r in [from, to), exactly below EXACT_KEYS, by integral above. */
function weightSum(theta: number, from: number, to: number): number {
  if (to <= from) return 0;
  // The sum over [a, b) of x^-theta, x = r + 1, is close to the integral over [a + 0.5, b + 0.5).
  const integral = (x: number) =>
    Math.abs(theta - 1) < 1e-9 ? Math.log(x) : Math.pow(x, 1 - theta) / (1 - theta);
  return integral(to + 0.5) - integral(from + 0.5);
}

/** Each page's share of accesses (summing to 1), in page order. */
export function pagePopularity(layout: KvLayout): Float64Array {
  const pageBytes = layout.pageBytes ?? 4096;
  const pages = Math.max(1, Math.floor(layout.datasetBytes / pageBytes));
  const perPage = Math.max(1, Math.floor(pageBytes / layout.valueBytes));
  const keys = pages * perPage;
  const theta = Math.abs(layout.zipf - 1) < 1e-6 ? 1 - 1e-6 : layout.zipf;
  const exact = Math.min(keys, EXACT_KEYS);
  const weights = new Float64Array(exact);
  let head = 0;
  for (let r = 0; r < exact; r++) {
    const w = Math.pow(r + 1, -theta);
    weights[r] = w;
    head += w;
  }
  const total = head + weightSum(theta, exact, keys);
  const popularity = new Float64Array(pages);
  const place = scatter(keys);
  for (let r = 0; r < exact; r++) {
    const page = Math.floor(place(r) / perPage);
    popularity[page] = (popularity[page] ?? 0) + (weights[r] ?? 0) / total;
  }
  const tail = (1 - head / total) / pages;
  if (tail > 0) { for (let p = 0; p < pages; p++) popularity[p] = (popularity[p] ?? 0) + tail; }
  return popularity;
}

/**
 * The LRU miss ratio at each cache size (in pages), by Che's approximation:
 * hit(C) = sum p_i (1 - e^(-p_i T)) with T such that sum (1 - e^(-p_i T)) = C.
 */
export function lruMissRatios(popularity: Float64Array, cachePages: readonly number[]): number[] {
  // Pages of similar popularity behave alike: group them into log-spaced classes.
  let min = Infinity;
  let max = 0;
  for (const p of popularity) {
    if (p > 0) {
      min = Math.min(min, p);
      max = Math.max(max, p);
    }
  }
  const counts = new Float64Array(CLASSES);
  const sums = new Float64Array(CLASSES);
  const span = Math.log(max / min) || 1;
  for (const p of popularity) {
    if (!(p > 0)) continue;
    const k = Math.min(CLASSES - 1, Math.floor((Math.log(p / min) / span) * CLASSES));
    counts[k] = (counts[k] ?? 0) + 1;
    sums[k] = (sums[k] ?? 0) + p;
  }
  const classes: Array<{ count: number; p: number }> = [];
  counts.forEach((count, k) => {
    if (count > 0) classes.push({ count, p: (sums[k] as number) / count });
  });
  const occupancy = (t: number) =>
    classes.reduce((a, c) => a + c.count * (1 - Math.exp(-c.p * t)), 0);
  const hits = (t: number) =>
    classes.reduce((a, c) => a + c.count * c.p * (1 - Math.exp(-c.p * t)), 0);
  const pages = popularity.length;
  return cachePages.map((cache) => {
    if (cache <= 0) return 1;
    if (cache >= pages) return 0;
    let lo = 0;
    let hi = 1 / min;
    while (occupancy(hi) < cache) hi *= 2;
    for (let i = 0; i < 80; i++) {
      const mid = (lo + hi) / 2;
      if (occupancy(mid) < cache) lo = mid;
      else hi = mid;
    }
    return Math.min(1, Math.max(0, 1 - hits((lo + hi) / 2)));
  });
}

const curves = new Map<string, Array<[number, number]>>();

/**
 * The kv workload's miss-ratio curve as [[cacheBytes, missRatio], ...] at `points` evenly
 * spaced sizes up to the dataset (as the far-memory client's SHARDS curve reports it), with
 * [0, 1] first. Computed once per layout.
 */
export function kvMissRatioCurve(layout: KvLayout, points = 32): Array<[number, number]> {
  const key = JSON.stringify([
    layout.datasetBytes,
    layout.valueBytes,
    layout.zipf,
    layout.pageBytes,
    points,
  ]);
  const known = curves.get(key);
  if (known !== undefined) return known.map(([c, m]) => [c, m]);
  const pageBytes = layout.pageBytes ?? 4096;
  const popularity = pagePopularity(layout);
  const sizes = Array.from(
    { length: points },
    (_, k) => Math.round((popularity.length * (k + 1)) / points),
  );
  const ratios = lruMissRatios(popularity, sizes);
  const curve: Array<[number, number]> = [
    [0, 1],
    ...sizes.map((pages, k): [number, number] => [pages * pageBytes, ratios[k] as number]),
  ];
  curves.set(key, curve);
  return curve.map(([c, m]) => [c, m]);
}
