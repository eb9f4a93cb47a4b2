/**
 * Synthetic epoch records for tests of the results code: two apps on one node whose
 * allocation shifts over time, with prices; and a playbook of that shape. Pure.
 * @module
 */
import { validatePlaybook } from "../playbook/validate.ts";
import type { Playbook } from "../playbook/types.ts";
import type { EpochRecord } from "./types.ts";

/** A playbook of the same shape as the synthetic epochs: kv and scan on cn1, writing to `output`. */
export function syntheticPlaybook(output: string, name = "w"): Playbook {
  return validatePlaybook({
    name,
    hosts: {
      mem: { role: "memory", memserver: { capacity: "1GiB" } },
      cn1: { role: "compute", memoryNode: "mem", cache: "512MiB", bandwidth: "1Gbps" },
    },
    apps: [
      { name: "kv", host: "cn1", workload: { kind: "kv", dataset: "256MiB" } },
      { name: "scan", host: "cn1", workload: { kind: "stream", dataset: "256MiB" } },
    ],
    output,
  });
}

/** `count` epochs (the first `warmup` of them warm-up) of a two-app run. */
export function syntheticEpochs(
  count: number,
  options: { warmup?: number; policy?: string; prices?: boolean } = {},
): EpochRecord[] {
  const start = Date.parse("2026-01-01T00:00:00Z");
  return Array.from({ length: count }, (_, epoch) => {
    const shift = Math.min(epoch, 5) * 20;
    return {
      v: 1,
      epoch,
      time: new Date(start + (epoch + 1) * 5000).toISOString(),
      elapsedMs: (epoch + 1) * 5000,
      phase: epoch < (options.warmup ?? 0) ? "warmup" : "measure",
      policy: options.policy ?? "symbiosis",
      apps: [
        {
          name: "kv",
          host: "cn1",
          cacheMiB: 256 + shift,
          bandwidthMbps: 500 - shift,
          opsPerSec: 10_000 + 100 * shift,
          used: { cacheMiB: 250 + shift, remoteReadMbps: 100, remoteWriteMbps: 5 },
          predictedOpsPerSec: 10_500 + 100 * shift,
          model: "mrc",
          equalSplitPredictedOpsPerSec: 10_000,
        },
        {
          name: "scan",
          host: "cn1",
          cacheMiB: 256 - shift,
          bandwidthMbps: 500 + shift,
          opsPerSec: 2_000 + 10 * shift,
          used: { cacheMiB: 256 - shift, remoteReadMbps: 480 + shift, remoteWriteMbps: 0 },
          predictedOpsPerSec: epoch < 2 ? null : 1_900 + 10 * shift,
          model: epoch < 2 ? "equal-split" : "mrc",
          equalSplitPredictedOpsPerSec: epoch < 2 ? null : 2_000,
        },
      ],
      nodes: [{
        host: "cn1",
        cacheMiB: 512,
        bandwidthMbps: 1000,
        prices: options.prices === false
          ? null
          : { cache: 0.5 + shift / 1000, bandwidth: 0.5 - shift / 1000 },
        auctionMs: 0.4,
        iterations: 12,
        converged: true,
      }],
    };
  });
}
