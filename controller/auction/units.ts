/**
 * The market's units and the one place that converts to and from them. Everything outside the
 * market (playbooks, the agent, the allocation in force) counts bytes and bytes per second; the
 * market, its models and the estimator count MiB and Mbps, the units users read in records.
 * Memory is binary (1 MiB = 2^20 B), bandwidth decimal (1 Mbps = 125,000 B/s). Pure.
 * @module
 */
import { BYTES_PER_MIB, BYTES_PER_SEC_PER_MBPS } from "../../common/units.ts";
import type { Bundle } from "./market.ts";

/** An amount of both goods in bytes and bytes per second (the agent's `Allocation` shape). */
export interface ResourceBytes {
  cacheBytes: number;
  bandwidthBytesPerSec: number;
}

/** MiB in `bytes`. */
export function mibOfBytes(bytes: number): number {
  return bytes / BYTES_PER_MIB;
}

/** Bytes in `mib` MiB (not rounded). */
export function bytesOfMiB(mib: number): number {
  return mib * BYTES_PER_MIB;
}

/** Mbps in `bytesPerSec`. */
export function mbpsOfBytesPerSec(bytesPerSec: number): number {
  return bytesPerSec / BYTES_PER_SEC_PER_MBPS;
}

/** Bytes per second in `mbps` Mbps (not rounded). */
export function bytesPerSecOfMbps(mbps: number): number {
  return mbps * BYTES_PER_SEC_PER_MBPS;
}

/** A byte allocation as a market bundle. */
export function bundleOfBytes(resources: ResourceBytes): Bundle {
  return {
    cacheMiB: mibOfBytes(resources.cacheBytes),
    bandwidthMbps: mbpsOfBytesPerSec(resources.bandwidthBytesPerSec),
  };
}

/**
 * A market bundle as whole bytes and bytes per second, rounded down, so bundles that fit a
 * node's capacity still fit once converted.
 */
export function bytesOfBundle(bundle: Bundle): ResourceBytes {
  return {
    cacheBytes: Math.floor(bytesOfMiB(bundle.cacheMiB)),
    bandwidthBytesPerSec: Math.floor(bytesPerSecOfMbps(bundle.bandwidthMbps)),
  };
}

/** A miss-ratio curve with cache sizes in bytes as one with cache sizes in MiB. */
export function curveInMiB(
  points: ReadonlyArray<readonly [number, number]>,
): Array<[number, number]> {
  return points.map(([bytes, ratio]) => [mibOfBytes(bytes), ratio]);
}

/** A miss-ratio curve with cache sizes in MiB as one with cache sizes in bytes. */
export function curveInBytes(
  points: ReadonlyArray<readonly [number, number]>,
): Array<[number, number]> {
  return points.map(([mib, ratio]) => [bytesOfMiB(mib), ratio]);
}
