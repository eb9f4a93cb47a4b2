/**
 * What an app used during one epoch, from the agent's samples: resident memory averaged over
 * the samples, swap traffic and major faults as counter deltas over the epoch (from the last
 * sample of the epoch before, when it is of the same process, so the whole epoch counts).
 * Only samples of the running process count: an app that exited is not recorded as using
 * anything. Pure.
 * @module
 */
import type { AppSample } from "../../agent/protocol.ts";
import { mbpsOfBytesPerSec, mibOfBytes } from "../auction/units.ts";
import { isRunningSample } from "./learner.ts";

/** An app's use of the node during one epoch (the record's `used`). */
export interface EpochUsage {
  cacheMiB: number;
  remoteReadMbps: number;
  remoteWriteMbps: number;
  majorFaultsPerSec?: number;
}

/**
 * The epoch's usage from `samples` (time order), or null when no sample of the running app
 * arrived this epoch. `before` is the app's last running sample of the previous epoch.
 */
export function epochUsage(
  samples: readonly AppSample[],
  before: AppSample | null,
): EpochUsage | null {
  const running = samples.filter(isRunningSample);
  const last = running.at(-1);
  if (last === undefined) return null;
  const first = before !== null && sameProcess(before, running[0] as AppSample)
    ? before
    : running[0] as AppSample;
  const seconds = (last.timeMs - first.timeMs) / 1000;
  const rate = (read: (s: AppSample) => number, fallback: number) =>
    first === last || !(seconds > 0) ? fallback : Math.max(0, (read(last) - read(first)) / seconds);
  const usage: EpochUsage = {
    cacheMiB: mibOfBytes(running.reduce((a, s) => a + s.residentBytes, 0) / running.length),
    remoteReadMbps: mbpsOfBytesPerSec(rate((s) => s.swapInBytes, last.swapInBytesPerSec)),
    remoteWriteMbps: mbpsOfBytesPerSec(rate((s) => s.swapOutBytes, last.swapOutBytesPerSec)),
  };
  if (last.enforcement === "cgroup" && first !== last && seconds > 0) {
    usage.majorFaultsPerSec = rate((s) => s.majorFaults, 0);
  }
  return usage;
}

/** True when `after` continues `before`'s process: time and every counter moved forward. */
function sameProcess(before: AppSample, after: AppSample): boolean {
  return after.timeMs > before.timeMs && after.elapsedMs > before.elapsedMs &&
    after.swapInBytes >= before.swapInBytes && after.swapOutBytes >= before.swapOutBytes &&
    after.majorFaults >= before.majorFaults;
}
