/**
 * Messages between the allocation pool and its workers: markets as plain data (model specs,
 * not functions), so they cross the worker boundary by structured clone. Pure.
 * @module
 */
import type { Bundle, MarketApp, NodeAllocation, NodeMarket } from "../auction/market.ts";
import { buildModel, type ModelSpec } from "../auction/model.ts";
import type { PolicyName } from "../auction/policy.ts";

/** A node market as plain data. */
export interface MarketData {
  id: string;
  cacheMiB: number;
  bandwidthMbps: number;
  apps: Array<{ id: string; spec: ModelSpec; limits: MarketApp["limits"]; peakDemand?: Bundle }>;
}

/** One job: allocate these markets. */
export interface AllocationJob {
  job: number;
  policy: PolicyName;
  markets: MarketData[];
  previous: Array<NodeAllocation | null>;
  maxMoveFraction?: number;
}

/** The answer to one job. */
export type AllocationReply =
  | { job: number; ok: true; allocations: NodeAllocation[] }
  | { job: number; ok: false; error: string };

/** Converts a market to plain data. */
export function toData(market: NodeMarket): MarketData {
  return {
    id: market.id,
    cacheMiB: market.cacheMiB,
    bandwidthMbps: market.bandwidthMbps,
    apps: market.apps.map((app) => ({
      id: app.id,
      spec: app.model.spec,
      limits: app.limits,
      ...(app.peakDemand === undefined ? {} : { peakDemand: app.peakDemand }),
    })),
  };
}

/** Rebuilds a market from plain data. */
export function fromData(data: MarketData): NodeMarket {
  return {
    id: data.id,
    cacheMiB: data.cacheMiB,
    bandwidthMbps: data.bandwidthMbps,
    apps: data.apps.map((app) => {
      const built: MarketApp = { id: app.id, model: buildModel(app.spec), limits: app.limits };
      if (app.peakDemand !== undefined) built.peakDemand = app.peakDemand;
      return built;
    }),
  };
}
