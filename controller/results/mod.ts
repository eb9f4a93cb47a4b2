/**
 * Results of a run: epoch records, the run-directory writer, summary and report.
 * @module
 */
export * from "./types.ts";
export { type EpochsFile, parseEpochs, readEpochs, RUN_FILES } from "./read.ts";
export { summarise, type SummaryOptions } from "./summary.ts";
export { APPS_CSV_COLUMNS, RunWriter, type RunWriterOptions } from "./writer.ts";
export { rebuildReport, type RebuildResult } from "./rebuild.ts";
export { CHART_IDS, renderReport } from "./report.ts";
export { reportCommand } from "./command.ts";
export {
  eventCategory,
  type PhaseChange,
  phaseChangeEvent,
  phaseChanges,
  runStartMs,
  timelineMarkers,
} from "./timeline.ts";
export { RunMetrics } from "./metrics.ts";
export { MetricsListenError, type MetricsServer, serveMetrics } from "./metrics_server.ts";
export { encodeExposition, EXPOSITION_CONTENT_TYPE, type MetricFamily } from "./prometheus.ts";
export { type ListenAddress, parseListenAddress } from "./listen_address.ts";
export { parseEvents, readEvents, readPlaybookJson } from "./read.ts";
