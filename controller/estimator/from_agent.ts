/**
 * Turns the agent's per-second samples of one app during one epoch into one estimator sample
 * (rates from cumulative counters over the epoch, units converted to MiB and Mbps). Pure.
 * @module
 */
import type { AppSample } from "../../agent/protocol.ts";
import { bundleOfBytes, curveInMiB } from "../auction/units.ts";
import type { EstimatorSample } from "./types.ts";

/** Why an epoch gave no estimator sample. */
export type EpochSampleGap = { gap: string };

/**
 * Aggregates one app's agent samples taken during epoch `epoch` (in time order). Throughput and
 * remote traffic are counter deltas between the first and the last sample (the agent's own
 * per-interval rates with a single sample); the allocation is the last one requested; the MRC
 * is the last one available.
 */
export function epochSample(
  samples: readonly AppSample[],
  epoch: number,
): EstimatorSample | EpochSampleGap {
  const last = samples.at(-1);
  const first = samples[0];
  if (last === undefined || first === undefined) return { gap: "no samples this epoch" };
  let opsPerSec: number | null;
  let remoteBytesPerSec: number;
  const seconds = (last.timeMs - first.timeMs) / 1000;
  if (samples.length >= 2 && seconds > 0) {
    opsPerSec = last.opsTotal === null || first.opsTotal === null
      ? null
      : (last.opsTotal - first.opsTotal) / seconds;
    remoteBytesPerSec = (last.swapInBytes - first.swapInBytes + last.swapOutBytes -
      first.swapOutBytes) / seconds;
  } else {
    opsPerSec = last.opsPerSec;
    remoteBytesPerSec = last.swapInBytesPerSec + last.swapOutBytesPerSec;
  }
  if (opsPerSec === null) return { gap: `no throughput source (${last.throughputSource})` };
  if (!(opsPerSec >= 0)) return { gap: "the op counter went backwards (app restarted?)" };
  const mrc = [...samples].reverse().find((s) => s.mrc.available)?.mrc;
  return {
    epoch,
    ...bundleOfBytes(last.allocation),
    opsPerSec,
    remoteBytesPerSec: Math.max(0, remoteBytesPerSec),
    ...(mrc?.available === true ? { mrc: curveInMiB(mrc.points) } : {}),
  };
}
