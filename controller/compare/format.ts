/**
 * The terminal summary of a comparison: per policy its gain, worst ratio, Jain's index,
 * adaptation and failures; per app its mean throughput and ratio under each policy. Pure.
 * @module
 */
import { formatTable } from "../../common/table.ts";
import type { Comparison } from "./types.ts";

const ratio = (value: number | null | undefined) =>
  value === null || value === undefined ? "-" : `x${value.toFixed(3)}`;
const fixed = (value: number | null | undefined, digits: number) =>
  value === null || value === undefined ? "-" : value.toFixed(digits);

/** Two tables: the policies, then the apps (mean ± 95 % interval and ratio per policy). */
export function formatComparison(comparison: Comparison): string {
  const policies = formatTable(
    ["policy", "runs", "failed", "gain (geo. mean)", "worst app", "Jain", "adaptation s"],
    comparison.policies.map((p) => [
      p.policy,
      String(p.repetitions),
      String(p.failures.length),
      ratio(p.geoMeanGain),
      ratio(p.minRatio),
      fixed(p.jainIndex, 3),
      p.adaptationSec === undefined ? "" : fixed(p.adaptationSec, 1),
    ]),
  );
  const names: string[] = [];
  for (const p of comparison.policies) {
    for (const a of p.apps) if (!names.includes(a.name)) names.push(a.name);
  }
  const apps = formatTable(
    ["app", ...comparison.policies.map((p) => `${p.policy} ops/s`)],
    names.map((name) => [
      name,
      ...comparison.policies.map((p) => {
        const app = p.apps.find((a) => a.name === name);
        if (app === undefined || app.meanOpsPerSec === null) return "-";
        const ci = app.ci95 === null ? "" : ` ±${app.ci95.toFixed(0)}`;
        return `${app.meanOpsPerSec.toFixed(0)}${ci} (${ratio(app.ratioToStatic)})`;
      }),
    ]),
  );
  const failures = comparison.policies.flatMap((p) =>
    p.failures.map((f) => `failed: ${p.policy}, repetition ${f.repetition + 1}: ${f.error}`)
  );
  return [`Comparison of ${comparison.playbook}`, policies, "", apps, ...failures].join("\n");
}
