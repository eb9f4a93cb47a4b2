/**
 * One application's cgroup, independent of the cgroup version: create or adopt, set the cache
 * and bandwidth limits, read statistics, kill and remove. {@link createCgroup} and
 * {@link adoptCgroup} pick v1 or v2 from the detected layout.
 * @module
 */
import type { EnforceableLimits } from "../protocol.ts";
import type { CgroupLayout } from "./mounts.ts";
import type { DeviceBytes, PressureStats, WorkingsetCounters } from "./stats.ts";
import { CgroupV1 } from "./cgroup_v1.ts";
import { CgroupV2 } from "./cgroup_v2.ts";

/** Statistics of one cgroup at one instant; counters are cumulative since creation. */
export interface CgroupSnapshot {
  /** Memory charged to the cgroup (what the cache limit bounds). */
  residentBytes: number;
  /** Highest `residentBytes` since creation, when the kernel tracks it. */
  peakResidentBytes: number | null;
  swapBytes: number;
  majorFaults: number;
  /**
   * Bytes swapped in, as the kernel counts them per cgroup whatever the device (v2 `pswpin`);
   * null when it does not (then `swapDeviceBytes` is the measure).
   */
  swapInBytes: number | null;
  /** Bytes swapped out, counted per cgroup by the kernel (v2 `pswpout`); null when not. */
  swapOutBytes: number | null;
  /**
   * Block I/O of the cgroup on each of the swap devices asked for, by "major:minor" (empty
   * without an io controller). Swap-out writes are not charged here on v1.
   */
  swapDeviceBytes: Map<string, DeviceBytes>;
  /** memory.stat working-set counters (refaults, activations). */
  workingset: WorkingsetCounters;
  ioReadBytes: number;
  ioWriteBytes: number;
  /** Per-cgroup PSI (v2 only). */
  pressure: PressureStats | null;
}

/** A cgroup (one directory per controller hierarchy) that holds one application. */
export interface Cgroup {
  readonly version: 1 | 2;
  /** Absolute directories by hierarchy (`memory`, `blkio` for v1; `unified` for v2). */
  readonly paths: Record<string, string>;
  /** True when the agent created it (and so removes it); false for adopted cgroups. */
  readonly owned: boolean;
  /** The `cgroup.procs` files a new process must write its pid to. */
  procsFiles(): string[];
  /** Writes the cache limit once (the kernel reclaims synchronously down to it). */
  writeCacheLimit(bytes: number): Promise<void>;
  /** Sets read and write throttling on the given "major:minor" devices. */
  writeBandwidth(devices: readonly string[], bytesPerSec: number): Promise<void>;
  /** Removes the read and write throttling on the given devices. */
  clearBandwidth(devices: readonly string[]): Promise<void>;
  /** Removes every limit the agent set (used when releasing an adopted cgroup). */
  clearLimits(devices: readonly string[]): Promise<void>;
  readSnapshot(swapDevices: readonly string[]): Promise<CgroupSnapshot>;
  /** What this cgroup's version and controllers can enforce with throttling on `devices`. */
  enforceable(devices: readonly string[]): EnforceableLimits;
  /** Process ids currently in the cgroup. */
  pids(): Promise<number[]>;
  /** Kills every process, waits until the cgroup is empty and removes its directories (idempotent). */
  remove(options?: { timeoutMs?: number }): Promise<void>;
}

/** Parent directory (under each hierarchy) of every cgroup the agent creates. */
export const SPIRIT_CGROUP_PARENT = "spirit";

/** Creates `spirit/<name>` in the memory (and io) hierarchies. */
export async function createCgroup(layout: CgroupLayout, name: string): Promise<Cgroup> {
  if (layout.memory === null) {
    throw new Error("No cgroup hierarchy with the memory controller is mounted on this host");
  }
  if (layout.memory.version === 2) return await CgroupV2.create(layout, name);
  return await CgroupV1.create(layout, name);
}

/** Adopts an existing cgroup by its path relative to the hierarchy roots (e.g. a container's). */
export async function adoptCgroup(layout: CgroupLayout, relativePath: string): Promise<Cgroup> {
  if (layout.memory === null) {
    throw new Error("No cgroup hierarchy with the memory controller is mounted on this host");
  }
  if (layout.memory.version === 2) return await CgroupV2.adopt(layout, relativePath);
  return await CgroupV1.adopt(layout, relativePath);
}
