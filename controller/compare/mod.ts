/**
 * Comparisons of policies: aggregation of finished runs (pure), their loading from run
 * directories, and compare.json, compare.csv and compare.html.
 * @module
 */
export type * from "./types.ts";
export { type Adaptation, type AdaptationOptions, adaptationTimes } from "./adaptation.ts";
export { aggregateComparison, type AggregateOptions, type CompareRun } from "./aggregate.ts";
export { COMPARE_CSV_COLUMNS, compareCsv } from "./compare_csv.ts";
export {
  COMPARE_CHART_IDS,
  compareChartSpecs,
  type CompareReportInput,
  renderCompareReport,
} from "./compare_report.ts";
export { loadCompareRun, loadRun, type RunOutcome } from "./load.ts";
export { type RunData, type RunFigures, runFigures } from "./run_figures.ts";
export { ci95HalfWidth, studentT975 } from "./stats.ts";
export { COMPARE_FILES, compareJson, type ComparisonFiles, writeComparison } from "./write.ts";
