/**
 * How the paper's setup (Spirit, SOSP 2025; ../../../shared/SPIRIT.md section 4 in this
 * project's notes) is scaled to what runs on one small machine, so that the ratios the results
 * depend on stay the paper's: working set to cache, demand to bandwidth, and what a node's
 * bandwidth can fill in one epoch to its cache.
 *
 * Epochs are 5 s, the paper's 30 s divided by PAPER_TIME_SCALE (6), so that runs of many epochs
 * take minutes here. Rates are divided by PAPER_RATE_SCALE (160); sizes by both (960), so a
 * size over a rate times an epoch is the paper's: its node reads 7.5 Gbps × 30 s ≈ 28 GB per
 * epoch, 2.6 times its 10 GiB cache, and ours 46.875 Mbps × 5 s ≈ 29 MB, 2.6 times 10.667 MiB.
 * That last ratio sets how many epochs a cache takes to fill, so how fast the market can give
 * an app the cache a new phase needs (docs/run.md, "What a cache can fill"). Sizes ÷ 160, as
 * before, made it 0.44: a cache took 6 times as many epochs to fill as in the paper, and a
 * switch into a cache-bound phase 4 to 5 epochs to settle where it now takes 2 or 3
 * (README.md, "Phase changes"). Keeping it by 30 s epochs instead would make every real run
 * 6 times as long (a phase of 12 epochs, 6 minutes); by more bandwidth, the apps' demand would
 * no longer match it.
 *
 * | paper (per compute VM)            | here                               |
 * | --------------------------------- | ---------------------------------- |
 * | 30 s epochs                       | 5 s (÷ 6)                          |
 * | 7.5 Gbps remote bandwidth         | 46.875 Mbps (÷ 160)                |
 * | 10 GiB cache (20 GiB doubled)     | 10.667 MiB (21.333 MiB) (÷ 960)    |
 * | an app's working set of W GiB     | W × 1.067 MiB (÷ 960)              |
 *
 * The paper does not state its apps' working sets; ours are chosen once, here, as multiples
 * of the node's cache (see APP_DATASETS), and every experiment uses them.
 * @module
 */

/** The paper's epoch, seconds. */
export const PAPER_EPOCH_SEC = 30;

/** Rates (bandwidth) are the paper's divided by this. */
export const PAPER_RATE_SCALE = 160;

/** Epochs are the paper's (30 s) divided by this: 5 s. */
export const PAPER_TIME_SCALE = 6;

/** Sizes (caches, datasets) are the paper's divided by this: a rate's scale times time's. */
export const PAPER_SIZE_SCALE = PAPER_RATE_SCALE * PAPER_TIME_SCALE;

/** A size in MiB, as a playbook size string. */
const mib = (value: number) => `${Number(value.toFixed(3))}MiB`;

/** The paper's per-VM cache (GiB), scaled. */
export function paperCache(gib: number): string {
  return mib((gib * 1024) / PAPER_SIZE_SCALE);
}

/** The paper's per-VM bandwidth (Gbps), scaled, as a playbook rate string. */
export function paperBandwidth(gbps: number): string {
  return `${Number(((gbps * 1000) / PAPER_RATE_SCALE).toFixed(3))}Mbps`;
}

/** The paper's per-VM cache and bandwidth. */
export const PAPER_NODE = { cacheGiB: 10, doubledCacheGiB: 20, bandwidthGbps: 7.5 } as const;

/**
 * Each app's dataset as a multiple of the paper's 10 GiB node cache (so 1.5 is 15 GiB in the
 * paper's terms, 16 MiB here). A scan streams over all of it (it gains from cache only once it
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

/** How long each phase of a phased app lasts: 12 epochs (6 minutes at the paper's 30 s epochs). */
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
  epoch: `${PAPER_EPOCH_SEC / PAPER_TIME_SCALE}s`,
  warmup: "15s",
  output: "results",
} as const;
