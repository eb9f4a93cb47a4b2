/**
 * Types of one compute node's market: goods, apps with their limits and models, bundles and
 * the result of a policy. Pure.
 * @module
 */
import type { PerformanceModel } from "./model.ts";

/** An amount of both goods: cache in MiB and remote-memory bandwidth in Mbps. */
export interface Bundle {
  cacheMiB: number;
  bandwidthMbps: number;
}

/** Resolved per-app limits (every field present; maxima never above node capacity). */
export interface AppLimits {
  minCacheMiB: number;
  maxCacheMiB: number;
  minBandwidthMbps: number;
  maxBandwidthMbps: number;
}

/** One application taking part in a node's market. */
export interface MarketApp {
  id: string;
  model: PerformanceModel;
  limits: AppLimits;
  /** Declared peak demand, used only by the `drf` policy (defaults to the app's maxima). */
  peakDemand?: Bundle;
}

/** One compute node: its capacities and the apps that share them. */
export interface NodeMarket {
  id: string;
  cacheMiB: number;
  bandwidthMbps: number;
  apps: readonly MarketApp[];
}

/** Market prices in budget units per MiB and per Mbps (each app's income is 1). */
export interface Prices {
  cache: number;
  bandwidth: number;
}

/** What a policy decided for one node. */
export interface NodeAllocation {
  nodeId: string;
  /** One bundle per app, in the order of `NodeMarket.apps`. */
  bundles: Bundle[];
  /** Clearing prices for market policies; null for policies without prices. */
  prices: Prices | null;
  /** Price-search iterations (0 for policies without a search). */
  iterations: number;
  /** True when an exact (within tolerance) competitive equilibrium was reached. */
  converged: boolean;
  /** The cache price share theta in [0, 1]; carried to the next epoch as a warm start. */
  theta?: number;
  /** The income scale of the market (see symbiosis.ts); carried to the next epoch too. */
  incomeScale?: number;
  /** How the result was reached when it is not an exact equilibrium. */
  note?: string;
}

/** Options shared by every policy. */
export interface PolicyOptions {
  /** The allocation in force (last epoch), in app order; enables warm starts and bounds. */
  previous?: NodeAllocation;
  /**
   * Largest change per epoch of any app's bundle, as a fraction of node capacity per good
   * (1 = unbounded). Applied uniformly, so every intermediate allocation is feasible.
   */
  maxMoveFraction?: number;
}

/** A policy maps one node's market to an allocation. Pure and deterministic. */
export type Policy = (market: NodeMarket, options: PolicyOptions) => NodeAllocation;

/** Throughput of app `index` with `bundle`. */
export function opsOf(market: NodeMarket, index: number, bundle: Bundle): number {
  const app = market.apps[index];
  if (app === undefined) throw new RangeError(`No app at index ${index} on node ${market.id}`);
  return app.model.opsPerSec(bundle.cacheMiB, bundle.bandwidthMbps);
}

/** True for an app whose model is unknown: policies keep it at its equal split. */
export function isUnknown(app: MarketApp): boolean {
  return app.model.spec.kind === "unknown";
}

/** Clips a bundle into an app's limits. */
export function clipToLimits(bundle: Bundle, limits: AppLimits): Bundle {
  return {
    cacheMiB: Math.min(limits.maxCacheMiB, Math.max(limits.minCacheMiB, bundle.cacheMiB)),
    bandwidthMbps: Math.min(
      limits.maxBandwidthMbps,
      Math.max(limits.minBandwidthMbps, bundle.bandwidthMbps),
    ),
  };
}
