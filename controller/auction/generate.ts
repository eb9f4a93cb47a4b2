/**
 * Seeded random scenarios for property tests and benchmarks: streaming, exponential,
 * cliff-shaped and constant apps; tight and loose limits; several nodes. Pure.
 * @module
 */
import type { ModelSpec } from "./model.ts";
import type { ScenarioSpec } from "./scenario.ts";

/** A seeded pseudo-random generator (mulberry32) returning numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The shapes of generated apps ("unknown" only when asked for: a model nobody measured). */
export type AppShape = "streaming" | "exponential" | "cliff" | "constant" | "unknown";
const SHAPES: readonly AppShape[] = ["streaming", "exponential", "cliff", "constant"];

/** A random performance model of the given shape for a node with `cacheMiB` of cache. */
export function randomModel(random: () => number, shape: AppShape, cacheMiB: number): ModelSpec {
  const points = 16;
  // Curves start at 256 MiB (flat below: a program's code and hot set), an eighth of smaller nodes.
  const start = Math.min(256, cacheMiB / 8);
  const top = cacheMiB * (1.5 + random() * 2);
  const cacheAt = (k: number) => Math.round((start + (top - start) * k / (points - 1)) * 100) / 100;
  switch (shape) {
    case "constant":
      return { kind: "constant", opsPerSec: 50_000 + random() * 200_000 };
    case "unknown":
      return { kind: "unknown" };
    case "streaming": {
      const ratio = 0.8 + random() * 0.2;
      return {
        kind: "mrc",
        missRatio: [[start, ratio], [top, ratio * (0.9 + random() * 0.1)]],
        maxOpsPerSec: 100_000 + random() * 400_000,
        latencyRatio: random() * 2,
      };
    }
    case "exponential": {
      const scale = cacheMiB * (0.1 + random() * 0.8);
      const floor = 0.005 + random() * 0.05;
      const missRatio: Array<[number, number]> = [];
      for (let k = 0; k < points; k++) {
        const c = cacheAt(k);
        missRatio.push([c, floor + (1 - floor) * Math.exp(-(c - start) / scale)]);
      }
      return {
        kind: "mrc",
        missRatio,
        maxOpsPerSec: 500_000 + random() * 4_500_000,
        latencyRatio: 20 + random() * 100,
      };
    }
    case "cliff": {
      const at = cacheMiB * (0.15 + random() * 0.7);
      const high = 0.5 + random() * 0.5;
      const low = 0.01 + random() * 0.05;
      return {
        kind: "mrc",
        missRatio: [[start, high], [Math.max(start + 1, at), high * 0.95], [
          Math.max(start + 2, at + cacheMiB * 0.02),
          low,
        ], [top + at, low]],
        maxOpsPerSec: 200_000 + random() * 2_000_000,
        latencyRatio: 10 + random() * 50,
      };
    }
  }
}

/** Options of a generated scenario. */
export interface GenerateOptions {
  nodes: number;
  appsPerNode: number | [number, number];
  /** "tight" limits leave little room around the equal split; "loose" almost none bind. */
  limits?: "none" | "tight" | "loose" | "mixed";
  shapes?: readonly AppShape[];
  /** Range of node cache sizes in MiB (default 2048-16384). */
  cacheMiB?: readonly [number, number];
  /** Range of node bandwidths in Mbps (default 1000-10000). */
  bandwidthMbps?: readonly [number, number];
}

/** A random scenario (as JSON, ready for validateScenario). */
export function generateScenario(seed: number, options: GenerateOptions): ScenarioSpec {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  const [cacheLo, cacheHi] = options.cacheMiB ?? [2048, 16384];
  const [bandwidthLo, bandwidthHi] = options.bandwidthMbps ?? [1000, 10000];
  const nodes = Array.from({ length: options.nodes }, (_, k) => ({
    id: `node${k}`,
    cacheMiB: Math.round(cacheLo + random() * (cacheHi - cacheLo)),
    bandwidthMbps: Math.round(bandwidthLo + random() * (bandwidthHi - bandwidthLo)),
  }));
  const apps: ScenarioSpec["apps"] = [];
  for (const node of nodes) {
    const [lo, hi] = typeof options.appsPerNode === "number"
      ? [options.appsPerNode, options.appsPerNode]
      : options.appsPerNode;
    const count = lo + Math.floor(random() * (hi - lo + 1));
    const mode = options.limits === "mixed"
      ? pick(["none", "tight", "loose"] as const)
      : options.limits ?? "none";
    for (let k = 0; k < count; k++) {
      const shape = pick(options.shapes ?? SHAPES);
      const app: ScenarioSpec["apps"][number] = {
        id: `${node.id}-app${k}-${shape}`,
        node: node.id,
        model: randomModel(random, shape, node.cacheMiB),
      };
      if (mode !== "none") {
        const share = (capacity: number) => capacity / count;
        const [minF, maxF] = mode === "tight"
          ? [0.4 + random() * 0.5, 1.1 + random() * 0.8]
          : [random() * 0.3, 2 + random() * 4];
        app.limits = {
          minCacheMiB: Math.round(share(node.cacheMiB) * minF),
          maxCacheMiB: Math.round(share(node.cacheMiB) * maxF),
          minBandwidthMbps: Math.round(share(node.bandwidthMbps) * minF),
          maxBandwidthMbps: Math.round(share(node.bandwidthMbps) * maxF),
        };
      }
      apps.push(app);
    }
  }
  return { name: `generated-${seed}`, nodes, apps };
}
