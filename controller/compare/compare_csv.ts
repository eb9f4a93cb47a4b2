/**
 * compare.csv: one row per policy and app, with the policy's own figures repeated on each of
 * its rows (a policy without any finished run gets one row with only its failures). Pure.
 * @module
 */
import { csvLine } from "../results/csv.ts";
import type { Comparison } from "./types.ts";

/** Columns of compare.csv. */
export const COMPARE_CSV_COLUMNS = [
  "policy",
  "app",
  "host",
  "repetitions",
  "meanOpsPerSec",
  "ci95",
  "ratioToStatic",
  "ratioReference",
  "predictionError",
  "adaptationSec",
  "policyGeoMeanGain",
  "policyMinRatio",
  "policyJainIndex",
  "policyFailedRuns",
] as const;

/** The whole of compare.csv, header included. */
export function compareCsv(comparison: Comparison): string {
  return csvLine(COMPARE_CSV_COLUMNS) + comparison.policies.flatMap((p) =>
    p.apps.length === 0
      // A policy whose every run failed still gets a row (its failures).
      ? [
        csvLine([p.policy, ...Array(COMPARE_CSV_COLUMNS.length - 2).fill(null), p.failures.length]),
      ]
      : p.apps.map((a) =>
        csvLine([
          p.policy,
          a.name,
          a.host,
          a.repetitions,
          a.meanOpsPerSec,
          a.ci95,
          a.ratioToStatic,
          a.ratioReference,
          a.predictionError,
          a.adaptationSec,
          p.geoMeanGain,
          p.minRatio,
          p.jainIndex,
          p.failures.length,
        ])
      )
  ).join("");
}
