/**
 * The record of one epoch (a line of epochs.jsonl) from what was in force, what was observed
 * and what was decided; sizes converted to the units users read, MiB and Mbps. Pure.
 * @module
 */
import { bundleOfBytes, type ResourceBytes } from "../auction/units.ts";
import type { Probe } from "../estimator/explore.ts";
import type { Policy } from "../playbook/types.ts";
import {
  type AppEpochRecord,
  EPOCH_RECORD_VERSION,
  type EpochRecord,
  type NodeEpochRecord,
} from "../results/types.ts";
import type { AppAllocation } from "./allocation_state.ts";
import type { AppDecision, Decision } from "./decide.ts";
import type { RunPlan } from "./plan.ts";
import { appProbeRecord, nodeProbeRecord } from "./probe_record.ts";

/** Control-loop time of one epoch. */
export interface EpochTimings {
  collectMs: number;
  estimateMs: number;
  auctionMs: number;
  enforceMs: number;
  /** The controller process's CPU time over the same steps. */
  cpuMs?: number;
}

/** What an epoch record is made of. */
export interface EpochFacts {
  epoch: number;
  /** Wall-clock time at the end of the epoch, Unix epoch ms. */
  wallTimeMs: number;
  elapsedMs: number;
  warmup: boolean;
  policy: Policy;
  plan: RunPlan;
  /** Each app's allocation during the epoch (before this epoch's enforcement). */
  allocations: ReadonlyMap<string, AppAllocation>;
  /** Apps that are not running, and why. */
  down: ReadonlyMap<string, string>;
  decision: Decision;
  timings: EpochTimings;
}

function appRecord(
  name: string,
  host: string,
  facts: {
    allocation: AppAllocation | undefined;
    decided: AppDecision | undefined;
    down?: string;
    probe: Probe | null;
    policy: ResourceBytes | undefined;
  },
): AppEpochRecord {
  const { allocation, decided, down, probe, policy } = facts;
  const inForce = allocation === undefined
    ? { cacheMiB: 0, bandwidthMbps: 0 }
    : bundleOfBytes(allocation.inForce);
  const sample = decided?.lastSample ?? null;
  const usage = decided?.usage ?? null;
  const model = decided?.model ?? null;
  const prediction = decided?.prediction;
  const probed = probe === null || allocation === undefined || policy === undefined
    ? null
    : appProbeRecord(probe, { app: name, inForce: allocation.inForce, policy });
  const uncertainty = decided?.uncertainty?.relative;
  return {
    name,
    host,
    cacheMiB: inForce.cacheMiB,
    bandwidthMbps: inForce.bandwidthMbps,
    ...(allocation === undefined || allocation.notApplied === null ? {} : {
      requested: bundleOfBytes(allocation.requested),
      notApplied: allocation.notApplied,
    }),
    ...(down === undefined ? {} : { down }),
    opsPerSec: decided?.opsPerSec ?? null,
    used: usage ?? { cacheMiB: 0, remoteReadMbps: 0, remoteWriteMbps: 0 },
    ...(usage === null ? { unsampled: true as const } : {}),
    predictedOpsPerSec: decided?.predictedOpsPerSec ?? null,
    ...(prediction === undefined || prediction.predictedOpsPerSec === null ? {} : {
      prediction: {
        relativeError: prediction.relativeError,
        band: prediction.band,
        withinBand: prediction.withinBand,
      },
    }),
    model: model === null ? "equal-split" : model.spec.kind,
    ...(model === null ? {} : { modelSpec: model.spec }),
    ...(uncertainty === undefined ? {} : { uncertainty }),
    ...(decided?.reason == null ? {} : { modelReason: decided.reason }),
    equalSplitPredictedOpsPerSec: decided?.equalSplitPredictedOpsPerSec ?? null,
    ...(probed === null || policy === undefined ? {} : {
      policyAllocation: bundleOfBytes(policy),
      probe: probed,
    }),
    ...(sample === null ? {} : {
      enforced: {
        cache: sample.enforceable.cache.enforced,
        bandwidth: sample.enforceable.bandwidthRead.enforced,
      },
    }),
  };
}

/** Builds the epoch's record. */
export function epochRecord(facts: EpochFacts): EpochRecord {
  const { plan, decision, allocations, timings } = facts;
  const apps = plan.computes.flatMap((compute) =>
    compute.apps.map((app) => {
      const down = facts.down.get(app.name);
      return appRecord(app.name, compute.host, {
        allocation: allocations.get(app.name),
        decided: decision.apps.get(app.name),
        ...(down === undefined ? {} : { down }),
        probe: decision.nodes.find((n) => n.host === compute.host)?.probeInForce ?? null,
        policy: decision.policyInForce.get(app.name),
      });
    })
  );
  const nodes = plan.computes.map((compute): NodeEpochRecord => {
    const node = decision.nodes.find((n) => n.host === compute.host);
    const allocated = { cacheBytes: 0, bandwidthBytesPerSec: 0 };
    for (const app of compute.apps) {
      const inForce = allocations.get(app.name)?.inForce;
      allocated.cacheBytes += inForce?.cacheBytes ?? 0;
      allocated.bandwidthBytesPerSec += inForce?.bandwidthBytesPerSec ?? 0;
    }
    const capacity = bundleOfBytes(compute.capacity);
    return {
      host: compute.host,
      cacheMiB: capacity.cacheMiB,
      bandwidthMbps: capacity.bandwidthMbps,
      allocated: bundleOfBytes(allocated),
      prices: node?.prices ?? null,
      auctionMs: node?.auctionMs ?? 0,
      iterations: node?.iterations ?? 0,
      converged: node?.converged ?? true,
      probe: node?.probeInForce == null ? null : nodeProbeRecord(node.probeInForce),
    };
  });
  return {
    v: EPOCH_RECORD_VERSION,
    epoch: facts.epoch,
    time: new Date(facts.wallTimeMs).toISOString(),
    elapsedMs: facts.elapsedMs,
    phase: facts.warmup ? "warmup" : "measure",
    policy: facts.policy,
    apps,
    nodes,
    timings: {
      ...timings,
      totalMs: timings.collectMs + timings.estimateMs + timings.auctionMs + timings.enforceMs,
    },
  };
}
