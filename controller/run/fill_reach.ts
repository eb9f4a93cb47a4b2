/**
 * The cache an app can hold by the end of the next epoch. A grown cache fills only as the
 * app's misses bring pages in, so over one epoch it reaches at most what it holds now plus
 * what its bandwidth reads in meanwhile. The market plans the next epoch on that reach: cache
 * beyond it is worth nothing yet, and the bandwidth that fills it is worth what the cache it
 * fills is worth. Without it, the market trades an app's bandwidth for cache at the app's
 * steady-state value while the app, its cache still empty, runs on the cut bandwidth at the
 * cache it holds, for as many epochs as the filling then takes. Pure.
 * @module
 */
import type { PerformanceModel } from "../auction/model.ts";
import { mibOfBytes } from "../auction/units.ts";
import { BYTES_PER_SEC_PER_MBPS } from "../../common/units.ts";

/** What the app holds and how fast its cache can grow. */
export interface FillState {
  /** Local memory resident at the end of the epoch, MiB. */
  residentMiB: number;
  /** MiB the cache grows per Mbps of bandwidth over one epoch (reads kept while filling). */
  fillMiBPerMbps: number;
}

/** The fill rate of an epoch of `epochMs` in which `readShare` of the limited traffic is reads. */
export function fillMiBPerMbps(epochMs: number, readShare: number): number {
  return mibOfBytes(BYTES_PER_SEC_PER_MBPS * (epochMs / 1000) * readShare);
}

/** `model` as the next epoch sees it: with no more cache than the app can hold by its end. */
export function withinFillReach(model: PerformanceModel, state: FillState): PerformanceModel {
  const reach = (bandwidthMbps: number) =>
    state.residentMiB + state.fillMiBPerMbps * Math.max(0, bandwidthMbps);
  return {
    spec: model.spec,
    cacheBreakpointsMiB: model.cacheBreakpointsMiB,
    opsPerSec: (cacheMiB, bandwidthMbps) =>
      model.opsPerSec(Math.min(cacheMiB, reach(bandwidthMbps)), bandwidthMbps),
    saturationBandwidthMbps: (cacheMiB) => {
      const own = model.saturationBandwidthMbps(cacheMiB);
      if (cacheMiB <= state.residentMiB) return own;
      if (!(state.fillMiBPerMbps > 0)) return own;
      return Math.max(own, (cacheMiB - state.residentMiB) / state.fillMiBPerMbps);
    },
  };
}
