/**
 * Turns the agent's per-second samples of one app during one epoch into one estimator sample
 * (rates from cumulative counters over the epoch, units converted to MiB and Mbps). Pure.
 * @module
 */
import type { AppSample } from "../../agent/protocol.ts";
import { bundleOfBytes, curveInMiB, mibOfBytes } from "../auction/units.ts";
import type { EstimatorSample } from "./types.ts";

/** Why an epoch gave no estimator sample. */
export type EpochSampleGap = { gap: string };

/**
 * Aggregates one app's agent samples taken during epoch `epoch` (in time order). Throughput,
 * traffic, faults, refaults and memory stalls are counter deltas between the first and the
 * last sample (the agent's own per-interval rates with a single sample, where it has them);
 * the allocation is the last one requested; the MRC is the last one available.
 *
 * The traffic the bandwidth allocation limits (`remoteBytesPerSec`) counts swap-outs only
 * where writes are throttled too. Whether traffic was measurable at all is the agent's word
 * when it gives it; otherwise it is inferred: far-memory apps, traffic seen, a throttled (so
 * accounted) device, or nothing in swap at all (a real zero) mean measured.
 */
export function epochSample(
  samples: readonly AppSample[],
  epoch: number,
): EstimatorSample | EpochSampleGap {
  const last = samples.at(-1);
  const first = samples[0];
  if (last === undefined || first === undefined) return { gap: "no samples this epoch" };
  const seconds = (last.timeMs - first.timeMs) / 1000;
  const deltas = samples.length >= 2 && seconds > 0;
  const rate = (read: (s: AppSample) => number | null | undefined): number | undefined => {
    if (!deltas) return undefined;
    const a = read(first);
    const b = read(last);
    return typeof a === "number" && typeof b === "number" ? (b - a) / seconds : undefined;
  };
  const opsPerSec = deltas
    ? (last.opsTotal === null || first.opsTotal === null
      ? null
      : (last.opsTotal - first.opsTotal) / seconds)
    : last.opsPerSec;
  if (opsPerSec === null) return { gap: `no throughput source (${last.throughputSource})` };
  if (!(opsPerSec >= 0)) return { gap: "the op counter went backwards (app restarted?)" };
  const swapIn = Math.max(0, rate((s) => s.swapInBytes) ?? last.swapInBytesPerSec);
  const swapOut = Math.max(0, rate((s) => s.swapOutBytes) ?? last.swapOutBytesPerSec);
  const writesLimited = last.enforceable.bandwidthWrite.enforced;
  const mrc = [...samples].reverse().find((s) => s.mrc.available)?.mrc;
  const result: EstimatorSample = {
    epoch,
    ...bundleOfBytes(last.allocation),
    opsPerSec,
    remoteBytesPerSec: swapIn + (writesLimited ? swapOut : 0),
    swapInBytesPerSec: swapIn,
    swapOutBytesPerSec: swapOut,
    residentMiB: mibOfBytes(last.residentBytes),
    trafficMeasured: trafficMeasurable(first, last, swapIn + swapOut),
  };
  if (mrc?.available === true) {
    result.mrc = curveInMiB(mrc.points);
    result.mrcSource = mrc.source;
  }
  const faults = rate((s) => s.majorFaults);
  if (faults !== undefined) result.majorFaultsPerSec = Math.max(0, faults);
  const refaults = rate((s) => s.workingsetRefaultTotal);
  const activations = rate((s) => s.workingsetActivateTotal);
  if (refaults !== undefined && refaults >= 0) result.refaultsPerSec = refaults;
  if (activations !== undefined && activations >= 0) result.activationsPerSec = activations;
  const stall = rate((s) =>
    s.pressure.available && s.pressure.scope === "cgroup" ? s.pressure.someTotalUs : undefined
  );
  if (stall !== undefined) result.memoryStallShare = Math.min(1, Math.max(0, stall / 1e6));
  return result;
}

/** Whether the app's remote traffic was measured this epoch (see epochSample). */
function trafficMeasurable(first: AppSample, last: AppSample, seenBytesPerSec: number): boolean {
  if (last.remoteTrafficMeasurable !== undefined) return last.remoteTrafficMeasurable;
  if (last.enforcement === "farmem") return true;
  if (seenBytesPerSec > 0) return true;
  if (last.enforceable.bandwidthRead.enforced) return true;
  return first.swapBytes === 0 && last.swapBytes === 0;
}
