/**
 * Rebuilds summary.json and report.html of a run directory from its epochs.jsonl (what
 * `spirit report RUN_DIR` does), also for interrupted runs.
 * @module
 */
import { basename, join } from "node:path";
import { loadChartLibraries } from "./chart_libraries.ts";
import { readEpochs, readEvents, readPlaybookJson, RUN_FILES } from "./read.ts";
import { renderReport } from "./report.ts";
import { summarise } from "./summary.ts";
import type { RunSummary } from "./types.ts";

/** What a rebuild produced. */
export interface RebuildResult {
  summary: RunSummary;
  summaryPath: string;
  reportPath: string;
  /** 1-based line number of a skipped truncated last line of epochs.jsonl. */
  truncatedLine?: number;
}

/**
 * Reads `<runDir>/epochs.jsonl` (and playbook.json, events.jsonl when present), writes
 * summary.json and report.html. `baselineRunDir`: a run of the same playbook under the static
 * policy, whose per-app mean throughput becomes the baseline.
 */
export async function rebuildReport(
  runDir: string,
  options: { baselineRunDir?: string } = {},
): Promise<RebuildResult> {
  const epochs = await readEpochs(runDir);
  const playbook = await readPlaybookJson(runDir);
  const playbookName = String(playbook?.name ?? basename(runDir));
  const events = await readEvents(runDir);
  let baselineOpsPerSec: Record<string, number> | undefined;
  if (options.baselineRunDir !== undefined) {
    const baselinePath = join(options.baselineRunDir, RUN_FILES.summary);
    const baseline = JSON.parse(await Deno.readTextFile(baselinePath)) as RunSummary;
    baselineOpsPerSec = Object.fromEntries(
      baseline.apps.flatMap((a) => (a.meanOpsPerSec === null ? [] : [[a.name, a.meanOpsPerSec]])),
    );
  }
  const summary = summarise(epochs.records, {
    playbook: playbookName,
    truncated: epochs.truncated,
    ...(baselineOpsPerSec === undefined ? {} : { baselineOpsPerSec }),
  });
  const html = renderReport({
    summary,
    records: epochs.records,
    events,
    playbook,
    libraries: await loadChartLibraries(),
  });
  const summaryPath = join(runDir, RUN_FILES.summary);
  const reportPath = join(runDir, RUN_FILES.report);
  await Deno.writeTextFile(summaryPath, JSON.stringify(summary, null, 2) + "\n");
  await Deno.writeTextFile(reportPath, html);
  return {
    summary,
    summaryPath,
    reportPath,
    ...(epochs.truncatedLine === undefined ? {} : { truncatedLine: epochs.truncatedLine }),
  };
}
