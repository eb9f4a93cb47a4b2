/**
 * `trade`: the paper's baseline of pairwise trades guided by the estimator. Each epoch,
 * starting from the allocation in force (the equal split at first), the pair of apps and the
 * exchange of a step of cache (2 % of capacity) for bandwidth that most improves both (by the
 * product of their gains) is carried out, repeatedly, while some trade helps both. Pure.
 * @module
 */
import { equalSplit } from "./equal_split.ts";
import type { Bundle, NodeAllocation, NodeMarket, PolicyOptions } from "./market.ts";
import { opsOf } from "./market.ts";

const STEP_FRACTION = 0.02;

interface Trade {
  giver: number;
  taker: number;
  giverBundle: Bundle;
  takerBundle: Bundle;
  score: number;
}

/** One epoch of pairwise trading. */
export function trade(market: NodeMarket, options: PolicyOptions = {}): NodeAllocation {
  const n = market.apps.length;
  const start = options.previous?.bundles.length === n
    ? options.previous.bundles
    : equalSplit(market);
  const bundles = start.map((b) => ({ ...b }));
  let trades = 0;
  for (; trades < n * n; trades++) {
    let best: Trade | null = null;
    for (let giver = 0; giver < n; giver++) {
      for (let taker = 0; taker < n; taker++) {
        if (giver === taker) continue;
        const candidate = tradeBetween(market, bundles, { giver, taker });
        if (candidate !== null && (best === null || candidate.score > best.score)) best = candidate;
      }
    }
    if (best === null) break;
    bundles[best.giver] = best.giverBundle;
    bundles[best.taker] = best.takerBundle;
  }
  return { nodeId: market.id, bundles, prices: null, iterations: trades, converged: trades === 0 };
}

/** `giver` hands a step of cache to `taker` for the bandwidth price both gain from, if any. */
function tradeBetween(
  market: NodeMarket,
  bundles: Bundle[],
  { giver, taker }: { giver: number; taker: number },
): Trade | null {
  const g = bundles[giver];
  const t = bundles[taker];
  const gl = market.apps[giver]?.limits;
  const tl = market.apps[taker]?.limits;
  if (!g || !t || !gl || !tl) return null;
  const cache = Math.min(
    STEP_FRACTION * market.cacheMiB,
    g.cacheMiB - gl.minCacheMiB,
    tl.maxCacheMiB - t.cacheMiB,
  );
  if (cache <= 0) return null;
  const maxBandwidth = Math.min(
    t.bandwidthMbps - tl.minBandwidthMbps,
    gl.maxBandwidthMbps - g.bandwidthMbps,
  );
  if (maxBandwidth <= 0) return null;
  const gBase = opsOf(market, giver, g);
  const tBase = opsOf(market, taker, t);
  const giverAfter = (bw: number) =>
    opsOf(market, giver, { cacheMiB: g.cacheMiB - cache, bandwidthMbps: g.bandwidthMbps + bw });
  const takerAfter = (bw: number) =>
    opsOf(market, taker, { cacheMiB: t.cacheMiB + cache, bandwidthMbps: t.bandwidthMbps - bw });
  // Least bandwidth that compensates the giver; most bandwidth the taker can pay and still gain.
  const least = bisect((bw) => giverAfter(bw) > gBase * (1 + 1e-6), 0, maxBandwidth, "least");
  const most = bisect((bw) => takerAfter(bw) > tBase * (1 + 1e-6), 0, maxBandwidth, "most");
  if (least === null || most === null || least > most) return null;
  const bw = (least + most) / 2;
  const score = (giverAfter(bw) / Math.max(gBase, 1e-300)) *
    (takerAfter(bw) / Math.max(tBase, 1e-300));
  if (score <= 1 + 1e-9) return null;
  return {
    giver,
    taker,
    giverBundle: { cacheMiB: g.cacheMiB - cache, bandwidthMbps: g.bandwidthMbps + bw },
    takerBundle: { cacheMiB: t.cacheMiB + cache, bandwidthMbps: t.bandwidthMbps - bw },
    score,
  };
}

/** The least (or most) x in [lo, hi] with ok(x), for ok monotone in x; null if none. */
function bisect(
  ok: (x: number) => boolean,
  lo: number,
  hi: number,
  side: "least" | "most",
): number | null {
  if (side === "least") {
    if (!ok(hi)) return null;
    if (ok(lo)) return lo;
    let a = lo;
    let b = hi;
    for (let k = 0; k < 40; k++) {
      const mid = (a + b) / 2;
      if (ok(mid)) b = mid;
      else a = mid;
    }
    return b;
  }
  if (!ok(lo)) return null;
  if (ok(hi)) return hi;
  let a = lo;
  let b = hi;
  for (let k = 0; k < 40; k++) {
    const mid = (a + b) / 2;
    if (ok(mid)) a = mid;
    else b = mid;
  }
  return a;
}
