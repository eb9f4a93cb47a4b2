/**
 * How the paper's setup (Spirit, SOSP 2025; ../../../shared/SPIRIT.md section 4 in this
 * project's notes) is scaled to what runs on one small machine. One factor scales every size
 * and every rate alike, so the ratios the results depend on stay the paper's: working set to
 * cache, and demand to bandwidth.
 *
 * | paper (per compute VM)            | here (÷ 160)              |
 * | --------------------------------- | ------------------------- |
 * | 10 GiB cache (20 GiB doubled)     | 64 MiB (128 MiB)          |
 * | 7.5 Gbps remote bandwidth         | 46.875 Mbps               |
 * | an app's working set of W GiB     | W × 6.4 MiB               |
 *
 * The paper does not state its apps' working sets; ours are chosen once, here, as multiples
 * of the node's cache (see APP_DATASETS), and every experiment uses them.
 * @module
 */

/** Sizes and rates are the paper's divided by this. */
export const PAPER_SCALE = 160;

/** A size in MiB, as a playbook size string. */
const mib = (value: number) => `${Number(value.toFixed(3))}MiB`;

/** The paper's per-VM cache (GiB), scaled. */
export function paperCache(gib: number): string {
  return mib((gib * 1024) / PAPER_SCALE);
}

/** The paper's per-VM bandwidth (Gbps), scaled, as a playbook rate string. */
export function paperBandwidth(gbps: number): string {
  return `${Number(((gbps * 1000) / PAPER_SCALE).toFixed(3))}Mbps`;
}

/** The paper's per-VM cache and bandwidth. */
export const PAPER_NODE = { cacheGiB: 10, doubledCacheGiB: 20, bandwidthGbps: 7.5 } as const;

/**
 * Each app's dataset as a multiple of the paper's 10 GiB node cache (so 1.5 is 15 GiB in the
 * paper's terms, 96 MiB here). A scan streams over all of it (it gains from cache only once it
 * all fits); a key-value store's hot keys fit in a small share of it (zipf 0.99: the hottest
 * tenth of the keys takes about 70 % of the requests).
 */
export const APP_DATASETS = { scan: 2.5, kvSkewed: 1.5, kvMild: 1.5, phased: 2.5 } as const;

/** An app's dataset: `share` × the paper's 10 GiB cache, scaled. */
export function paperDataset(share: number): string {
  return paperCache(share * PAPER_NODE.cacheGiB);
}

/** A compute node of the paper's size (its cache may be the doubled one), scaled. */
export function paperComputeNode(memoryNode: string, cacheGiB: number = PAPER_NODE.cacheGiB) {
  return {
    role: "compute" as const,
    memoryNode,
    cache: paperCache(cacheGiB),
    bandwidth: paperBandwidth(PAPER_NODE.bandwidthGbps),
  };
}

/** How long each phase of a phased app lasts (12 epochs). */
export const PHASE_DURATION = "1m";

/** Apps of the paper, scaled: STREAM (a scan), Meta KVS (zipf 0.99), a social network (zipf 0.6). */
export const paperApps = {
  scan: (name: string, host: string) => ({
    name,
    host,
    workload: { kind: "stream" as const, dataset: paperDataset(APP_DATASETS.scan) },
  }),
  kvs: (name: string, host: string) => ({
    name,
    host,
    workload: { kind: "kv" as const, dataset: paperDataset(APP_DATASETS.kvSkewed), zipf: 0.99 },
  }),
  social: (name: string, host: string) => ({
    name,
    host,
    workload: { kind: "kv" as const, dataset: paperDataset(APP_DATASETS.kvMild), zipf: 0.6 },
  }),
  /** Alternates a skewed store (kv) and a scan every PHASE_DURATION, starting with `first`. */
  phased: (name: string, host: string, first: "kv" | "stream") => {
    const second: "kv" | "stream" = first === "kv" ? "stream" : "kv";
    return {
      name,
      host,
      workload: {
        kind: "phased" as const,
        dataset: paperDataset(APP_DATASETS.phased),
        zipf: 0.99,
        phases: [
          { kind: first, duration: PHASE_DURATION },
          { kind: second, duration: PHASE_DURATION },
        ],
      },
    };
  },
};

/** What every paper playbook shares: the policy, 5 s epochs, 15 s of warm-up, where results go. */
export const PAPER_RUN = {
  policy: "symbiosis",
  epoch: "5s",
  warmup: "15s",
  output: "results",
} as const;
