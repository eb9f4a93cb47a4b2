/**
 * `spirit bench auction`: time per epoch of the symbiosis market at several sizes, cold (no
 * previous allocation) and warm (starting from the previous epoch while the models drift by
 * up to 2 % per epoch, as estimator updates make them), after a JIT warm-up.
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { formatTable } from "../../common/table.ts";
import { generateScenario, seededRandom } from "../auction/generate.ts";
import type { NodeAllocation, NodeMarket } from "../auction/market.ts";
import { buildModel, type ModelSpec } from "../auction/model.ts";
import { AllocationPool } from "./allocation_pool.ts";
import { allocateNodes } from "../auction/policy.ts";
import { validateScenario } from "../auction/scenario.ts";

/** One benchmark size. */
export interface AuctionBenchCase {
  name: string;
  nodes: number;
  appsPerNode: number;
  epochs: number;
  /** Target per-epoch time in ms on the reference 2-core machine, if any. */
  targetMs?: number;
}

/** The sizes the issue asks for. */
export const AUCTION_BENCH_CASES: readonly AuctionBenchCase[] = [
  { name: "2 apps", nodes: 1, appsPerNode: 2, epochs: 200 },
  { name: "6 apps", nodes: 1, appsPerNode: 6, epochs: 200 },
  { name: "24 apps on 4 nodes", nodes: 4, appsPerNode: 6, epochs: 100, targetMs: 2 },
  { name: "200 apps on 1 node", nodes: 1, appsPerNode: 200, epochs: 10 },
  { name: "1,000 apps (100 x 10)", nodes: 100, appsPerNode: 10, epochs: 10, targetMs: 100 },
  { name: "10,000 apps (1,000 x 10)", nodes: 1000, appsPerNode: 10, epochs: 5, targetMs: 1000 },
];

/** Figures of one case. */
export interface AuctionBenchResult {
  name: string;
  apps: number;
  coldMs: number;
  warmMedianMs: number;
  warmP95Ms: number;
  exactShare: number;
  targetMs?: number;
  /** The same case on a pool of workers (one per CPU), for clusters of many nodes. */
  parallel?: { workers: number; coldMs: number; warmMedianMs: number; warmP95Ms: number };
}

/** Epochs run before timing starts (JIT warm-up), at most as many as the case's epochs. */
export const JIT_WARMUP_EPOCHS = 50;

/** Cases with at least this many nodes are also run on the worker pool. */
export const PARALLEL_FROM_NODES = 100;

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function drift(spec: ModelSpec, random: () => number): ModelSpec {
  const factor = 1 + (random() - 0.5) * 0.04;
  switch (spec.kind) {
    case "mrc":
      return { ...spec, maxOpsPerSec: spec.maxOpsPerSec * factor };
    case "constant":
      return { ...spec, opsPerSec: spec.opsPerSec * factor };
    case "grid":
      return { ...spec, opsPerSec: spec.opsPerSec.map((row) => row.map((v) => v * factor)) };
    case "unknown":
      return spec;
  }
}

/** Allocates every node of an epoch (on this thread, or on a pool of workers). */
export type Allocate = (
  markets: readonly NodeMarket[],
  previous?: Map<string, NodeAllocation>,
) => Promise<NodeAllocation[]>;

/** Allocation on this thread. */
export const allocateHere: Allocate = (markets, previous) =>
  Promise.resolve(allocateNodes(markets, "symbiosis", previous === undefined ? {} : { previous }));

/** Runs one case; the allocator and `now` are injectable. */
export async function runAuctionBenchCase(
  c: AuctionBenchCase,
  { allocate = allocateHere, now = () => performance.now() }: {
    allocate?: Allocate;
    now?: () => number;
  } = {},
): Promise<AuctionBenchResult> {
  const scenario = validateScenario(
    generateScenario(4242, { nodes: c.nodes, appsPerNode: c.appsPerNode }),
  );
  const random = seededRandom(99);
  let markets: NodeMarket[] = scenario.markets;
  const t0 = now();
  let allocations = await allocate(markets);
  const coldMs = now() - t0;
  const warm: number[] = [];
  let exact = 0;
  let total = 0;
  // The first epochs also let the JIT compile the hot paths (a controller runs for hours);
  // they are timed but not counted.
  const untimed = Math.min(JIT_WARMUP_EPOCHS, c.epochs);
  for (let epoch = 0; epoch < untimed + c.epochs; epoch++) {
    markets = markets.map((m) => ({
      ...m,
      apps: m.apps.map((app) => ({ ...app, model: buildModel(drift(app.model.spec, random)) })),
    }));
    const previous = new Map<string, NodeAllocation>(allocations.map((a) => [a.nodeId, a]));
    const started = now();
    allocations = await allocate(markets, previous);
    if (epoch < untimed) continue;
    warm.push(now() - started);
    exact += allocations.filter((a) => a.converged).length;
    total += allocations.length;
  }
  warm.sort((a, b) => a - b);
  const result: AuctionBenchResult = {
    name: c.name,
    apps: c.nodes * c.appsPerNode,
    coldMs,
    warmMedianMs: percentile(warm, 0.5),
    warmP95Ms: percentile(warm, 0.95),
    exactShare: total > 0 ? exact / total : 1,
  };
  if (c.targetMs !== undefined) result.targetMs = c.targetMs;
  return result;
}

/** Builds `spirit bench auction`. */
export function auctionBenchCommand() {
  return new Command("auction")
    .description("Time per epoch of the symbiosis market, 2 to 10,000 apps")
    .option("--json", "print exactly one JSON document")
    .option("--quick", "run fewer epochs per case")
    .action(async (options) => {
      using pool = new AllocationPool();
      const onPool: Allocate = (markets, previous) =>
        pool.allocate(markets, "symbiosis", previous === undefined ? {} : { previous });
      const results: AuctionBenchResult[] = [];
      for (const c of AUCTION_BENCH_CASES) {
        const run = options.quick ? { ...c, epochs: Math.max(2, Math.ceil(c.epochs / 10)) } : c;
        const result = await runAuctionBenchCase(run);
        if (run.nodes >= PARALLEL_FROM_NODES) {
          const parallel = await runAuctionBenchCase(run, { allocate: onPool });
          result.parallel = {
            workers: pool.size,
            coldMs: parallel.coldMs,
            warmMedianMs: parallel.warmMedianMs,
            warmP95Ms: parallel.warmP95Ms,
          };
        }
        if (!options.json) console.error(`done: ${c.name}`);
        results.push(result);
      }
      if (options.json) {
        console.log(JSON.stringify({ benchmark: "auction", deno: Deno.version.deno, results }));
        return;
      }
      console.log(formatTable(
        [
          "case",
          "apps",
          "cold ms",
          "warm median ms",
          "warm p95 ms",
          "all cores: warm median ms",
          "p95 ms",
          "exact equilibria",
          "target ms",
        ],
        results.map((r) => [
          r.name,
          String(r.apps),
          r.coldMs.toFixed(2),
          r.warmMedianMs.toFixed(2),
          r.warmP95Ms.toFixed(2),
          r.parallel === undefined
            ? "-"
            : `${r.parallel.warmMedianMs.toFixed(2)} (${r.parallel.workers} workers)`,
          r.parallel === undefined ? "-" : r.parallel.warmP95Ms.toFixed(2),
          `${(r.exactShare * 100).toFixed(0)}%`,
          r.targetMs === undefined ? "-" : String(r.targetMs),
        ]),
      ));
    });
}
