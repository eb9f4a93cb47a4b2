/**
 * What one run gained over a baseline run of the same playbook (static, usually): per app the
 * ratio of mean throughputs and the change of its mean allocation; overall the geometric mean
 * of the ratios and the worst one. Pure.
 * @module
 */
import type { RunSummary } from "../results/types.ts";

/** One app's figures under the baseline and under the policy. */
export interface AppGain {
  name: string;
  baselineOpsPerSec: number;
  opsPerSec: number;
  ratio: number;
  baselineCacheMiB: number;
  cacheMiB: number;
  baselineBandwidthMbps: number;
  bandwidthMbps: number;
}

/** The gain of a run over its baseline. */
export interface PolicyGain {
  apps: AppGain[];
  geometricMeanRatio: number;
  minRatio: number;
}

/** Compares `run` with `baseline`, app by app; apps without throughput in either are skipped. */
export function policyGain(baseline: RunSummary, run: RunSummary): PolicyGain {
  const apps = run.apps.flatMap((app): AppGain[] => {
    const base = baseline.apps.find((b) => b.name === app.name);
    if (!base?.meanOpsPerSec || app.meanOpsPerSec === null) return [];
    return [{
      name: app.name,
      baselineOpsPerSec: base.meanOpsPerSec,
      opsPerSec: app.meanOpsPerSec,
      ratio: app.meanOpsPerSec / base.meanOpsPerSec,
      baselineCacheMiB: base.meanCacheMiB,
      cacheMiB: app.meanCacheMiB,
      baselineBandwidthMbps: base.meanBandwidthMbps,
      bandwidthMbps: app.meanBandwidthMbps,
    }];
  });
  const ratios = apps.map((a) => a.ratio);
  return {
    apps,
    geometricMeanRatio: ratios.length === 0
      ? NaN
      : Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length),
    minRatio: ratios.length === 0 ? NaN : Math.min(...ratios),
  };
}
