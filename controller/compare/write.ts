/**
 * Writes a comparison's files: compare.json (exactly the aggregated comparison), compare.csv
 * and the self-contained compare.html.
 * @module
 */
import { join } from "node:path";
import { loadChartLibraries } from "../results/chart_libraries.ts";
import { compareCsv } from "./compare_csv.ts";
import { renderCompareReport } from "./compare_report.ts";
import type { Comparison } from "./types.ts";

/** File names a comparison writes into its directory. */
export const COMPARE_FILES = {
  json: "compare.json",
  csv: "compare.csv",
  html: "compare.html",
} as const;

/** Where a comparison's files were written. */
export interface ComparisonFiles {
  jsonPath: string;
  csvPath: string;
  htmlPath: string;
}

/** The text of compare.json (what `spirit compare --json` prints). */
export function compareJson(comparison: Comparison): string {
  return JSON.stringify(comparison, null, 2) + "\n";
}

/** Creates `outDir` if needed and writes compare.json, compare.csv and compare.html into it. */
export async function writeComparison(
  outDir: string,
  comparison: Comparison,
): Promise<ComparisonFiles> {
  await Deno.mkdir(outDir, { recursive: true });
  const files = {
    jsonPath: join(outDir, COMPARE_FILES.json),
    csvPath: join(outDir, COMPARE_FILES.csv),
    htmlPath: join(outDir, COMPARE_FILES.html),
  };
  const html = renderCompareReport({ comparison, libraries: await loadChartLibraries() });
  await Deno.writeTextFile(files.jsonPath, compareJson(comparison));
  await Deno.writeTextFile(files.csvPath, compareCsv(comparison));
  await Deno.writeTextFile(files.htmlPath, html);
  return files;
}
