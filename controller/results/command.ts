/**
 * `spirit report RUN_DIR`: rebuilds summary.json and report.html from epochs.jsonl.
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { rebuildReport } from "./rebuild.ts";

/** Exit status for usage errors. */
const EXIT_USAGE = 2;

/** The `report` command. */
export function reportCommand() {
  return new Command("report")
    .description("Rebuild summary.json and report.html of a run directory from its epochs.jsonl")
    .argument("<run-dir>", "a run directory (contains epochs.jsonl)")
    .option(
      "--baseline <run-dir>",
      "a run of the same playbook under --policy static, as the baseline",
    )
    .action(async (runDir, options) => {
      for (const dir of [runDir, options.baseline]) {
        if (dir === undefined) continue;
        try {
          await Deno.stat(`${dir}/epochs.jsonl`);
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
          console.error(`error: ${dir} is not a run directory (no epochs.jsonl in it)`);
          Deno.exit(EXIT_USAGE);
        }
      }
      const result = await rebuildReport(
        runDir,
        options.baseline === undefined ? {} : { baselineRunDir: options.baseline },
      );
      if (result.truncatedLine !== undefined) {
        console.error(
          `warning: epochs.jsonl line ${result.truncatedLine} was incomplete (interrupted run) and was skipped`,
        );
      }
      console.log(
        `${result.summary.measuredEpochs} measured epochs, ${result.summary.apps.length} apps`,
      );
      console.log(`summary: ${result.summaryPath}`);
      console.log(`report:  ${result.reportPath}`);
    });
}
