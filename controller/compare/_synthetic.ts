/**
 * Synthetic finished runs for tests of the comparison code: apps with a given throughput and
 * allocation per epoch on one or more nodes. Pure.
 * @module
 */
import type { ModelSpec } from "../auction/model.ts";
import type { AppEpochRecord, EpochRecord, RunEvent } from "../results/types.ts";
import type { RunData } from "./run_figures.ts";

/** A value, or a function of the epoch index. */
type PerEpoch<T> = T | ((epoch: number) => T);

/** One synthetic app. */
export interface SyntheticApp {
  name: string;
  host?: string;
  opsPerSec: PerEpoch<number | null>;
  cacheMiB: PerEpoch<number>;
  bandwidthMbps: PerEpoch<number>;
  usedCacheMiB?: PerEpoch<number>;
  remoteMbps?: PerEpoch<number>;
  predictedOpsPerSec?: PerEpoch<number | null>;
  equalSplitPredictedOpsPerSec?: number;
  modelSpec?: ModelSpec;
}

const at = <T>(value: PerEpoch<T>, epoch: number): T =>
  typeof value === "function" ? (value as (epoch: number) => T)(epoch) : value;

/** Start of every synthetic run. */
export const SYNTHETIC_START_MS = Date.parse("2026-01-01T00:00:00Z");

/** A run of `epochs` 5 s epochs (the first `warmup` warm-up) on nodes of 1000 MiB, 1000 Mbps. */
export function syntheticRun(options: {
  runDir: string;
  policy: string;
  apps: SyntheticApp[];
  epochs?: number;
  warmup?: number;
  nodes?: Array<{ host: string; cacheMiB: number; bandwidthMbps: number }>;
  events?: RunEvent[];
  playbook?: RunData["playbook"];
}): RunData {
  const nodes = options.nodes ?? [{ host: "cn1", cacheMiB: 1000, bandwidthMbps: 1000 }];
  const records: EpochRecord[] = Array.from({ length: options.epochs ?? 10 }, (_, epoch) => ({
    v: 1,
    epoch,
    time: new Date(SYNTHETIC_START_MS + (epoch + 1) * 5000).toISOString(),
    elapsedMs: (epoch + 1) * 5000,
    phase: epoch < (options.warmup ?? 0) ? "warmup" : "measure",
    policy: options.policy,
    apps: options.apps.map((app): AppEpochRecord => {
      const cacheMiB = at(app.cacheMiB, epoch);
      const predicted = at(app.predictedOpsPerSec ?? null, epoch);
      return {
        name: app.name,
        host: app.host ?? nodes[0]?.host ?? "cn1",
        cacheMiB,
        bandwidthMbps: at(app.bandwidthMbps, epoch),
        opsPerSec: at(app.opsPerSec, epoch),
        used: {
          cacheMiB: at(app.usedCacheMiB ?? cacheMiB, epoch),
          remoteReadMbps: at(app.remoteMbps ?? 0, epoch),
          remoteWriteMbps: 0,
        },
        predictedOpsPerSec: predicted,
        model: app.modelSpec?.kind ?? "equal-split",
        ...(app.modelSpec === undefined ? {} : { modelSpec: app.modelSpec }),
        ...(app.equalSplitPredictedOpsPerSec === undefined
          ? {}
          : { equalSplitPredictedOpsPerSec: app.equalSplitPredictedOpsPerSec }),
      };
    }),
    nodes: nodes.map((n) => ({ ...n, prices: null, auctionMs: 1 })),
  }));
  return {
    runDir: options.runDir,
    records,
    events: options.events ?? [],
    playbook: options.playbook ?? { name: "synthetic" },
    truncated: false,
  };
}

/**
 * The runs of a synthetic comparison: static, symbiosis and trade, two repetitions each (the
 * second trade run failed); kv and scan on cn1, scan changing phase at 22 s; symbiosis moves
 * cache from scan to kv over three epochs after the change.
 */
export function syntheticComparisonRuns(): Array<{
  policy: string;
  repetition: number;
  runDir: string | null;
  result: { ok: true; data: RunData } | { ok: false; error: string };
}> {
  const changeAt = new Date(SYNTHETIC_START_MS + 22_000).toISOString();
  const gain: Record<string, { kv: number; scan: number }> = {
    static: { kv: 1, scan: 1 },
    symbiosis: { kv: 1.25, scan: 1.02 },
    trade: { kv: 1.3, scan: 0.9 },
  };
  return ["static", "symbiosis", "trade"].flatMap((policy) =>
    [0, 1].map((repetition) => {
      const runDir = `results/two-${policy}-${repetition}`;
      if (policy === "trade" && repetition === 1) {
        return { policy, repetition, runDir, result: { ok: false, error: "agent on cn1 exited" } };
      }
      const g = gain[policy] as { kv: number; scan: number };
      const moving = policy !== "static";
      const kvCache = (e: number) => moving ? Math.min(700, 500 + Math.max(0, e - 4) * 70) : 500;
      const data = syntheticRun({
        runDir,
        policy,
        warmup: 1,
        apps: [
          {
            name: "kv",
            opsPerSec: (e) => 10_000 * g.kv + 100 * repetition + 10 * e,
            predictedOpsPerSec: (e) => 10_500 * g.kv + 10 * e,
            cacheMiB: kvCache,
            bandwidthMbps: 300,
            remoteMbps: 200,
          },
          {
            name: "scan",
            opsPerSec: 400 * g.scan - 5 * repetition,
            predictedOpsPerSec: 390 * g.scan,
            cacheMiB: (e) => 1000 - kvCache(e) - (moving ? 0 : 100),
            bandwidthMbps: 700,
            remoteMbps: 650,
          },
        ],
        events: [{
          time: changeAt,
          kind: "phase",
          app: "scan",
          message: "phase kv -> stream",
          details: { from: "kv", to: "stream" },
        }],
      });
      return { policy, repetition, runDir, result: { ok: true as const, data } };
    })
  );
}
