/**
 * `spirit simulate PLAYBOOK`: runs a playbook's real loop against a simulated cluster in virtual
 * time and prints where the results are and each app's figures.
 * @module
 */
import { baselineNote } from "../results/summary_text.ts";
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { formatTable } from "../../common/table.ts";
import type { ModelSpec } from "../auction/model.ts";
import { ScenarioError } from "../auction/scenario.ts";
import { PlaybookError } from "../playbook/errors.ts";
import { loadPlaybook } from "../playbook/load.ts";
import { applyOverrides, type PlaybookOverrides } from "../playbook/overrides.ts";
import type { Playbook } from "../playbook/types.ts";
import type { RunSummary } from "../results/types.ts";
import { modelsFromScenario } from "./app_models.ts";
import { simulatePlaybook } from "./simulate.ts";

const EXIT_USAGE = 2;

function seed(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(`"${value}" is not a non-negative integer`);
  }
  return n;
}

/** The figures printed after a simulation. */
export function formatSimulation(
  summary: RunSummary,
  run: { epochs: number; virtualMs: number; wallMs: number },
): string {
  const rows = summary.apps.map((a) => [
    a.name,
    a.host,
    a.meanOpsPerSec === null ? "-" : a.meanOpsPerSec.toFixed(0),
    a.meanCacheMiB.toFixed(1),
    a.meanBandwidthMbps.toFixed(1),
    a.ratioToBaseline === null
      ? "-"
      : `x${a.ratioToBaseline.toFixed(3)}${a.baselineSource === "model" ? " (model)" : ""}`,
  ]);
  return [
    `Simulated ${run.epochs} epochs (${(run.virtualMs / 1000).toFixed(0)} s of virtual time) ` +
    `in ${(run.wallMs / 1000).toFixed(1)} s; policy ${summary.policy}`,
    formatTable(["app", "host", "ops/s", "cache MiB", "bandwidth Mbps", "vs baseline"], rows),
    baselineNote(summary),
  ].join("\n");
}

async function usageError(error: unknown): Promise<never> {
  if (
    error instanceof PlaybookError || error instanceof ScenarioError ||
    error instanceof RangeError || error instanceof Deno.errors.NotFound
  ) {
    console.error(`error: ${(error as Error).message}`);
    Deno.exit(EXIT_USAGE);
  }
  return await Promise.reject(error);
}

/** Builds `spirit simulate`. */
export function simulateCommand() {
  return new Command("simulate")
    .description(
      "Run a playbook's real control loop against a simulated cluster in virtual time " +
        "(an hour of epochs in seconds): same estimator, market, records and report",
    )
    .argument("<playbook>", "a playbook file")
    .option("--policy <policy>", "override the playbook's policy")
    .option("--epoch <duration>", "override the epoch length")
    .option("--duration <duration>", "override the run length (virtual time)")
    .option("--out <dir>", "override the output directory")
    .option(
      "--apps-from <scenario.json>",
      "performance models of the apps by name, from a `spirit allocate` scenario file",
    )
    .option("--seed <n>", "seed of the simulated noise (default: the playbook's seed)", seed)
    .option("--json", "print { runDir, epochs, summary } as one JSON document")
    .action(async (path, flags) => {
      let playbook: Playbook;
      let models: Record<string, ModelSpec> = {};
      try {
        const overrides: PlaybookOverrides = {};
        if (flags.policy !== undefined) overrides.policy = flags.policy;
        if (flags.epoch !== undefined) overrides.epoch = flags.epoch;
        if (flags.duration !== undefined) overrides.duration = flags.duration;
        if (flags.out !== undefined) overrides.out = flags.out;
        playbook = applyOverrides(await loadPlaybook(path), overrides, { source: path });
        if (flags.appsFrom !== undefined) {
          models = modelsFromScenario(await Deno.readTextFile(flags.appsFrom), playbook);
        }
      } catch (error) {
        return await usageError(error);
      }
      const started = performance.now();
      const result = await simulatePlaybook(playbook, {
        models,
        output: "silent",
        ...(flags.seed === undefined ? {} : { seed: flags.seed }),
      }).catch(usageError);
      const wallMs = performance.now() - started;
      const summary = JSON.parse(
        await Deno.readTextFile(`${result.runDir}/summary.json`),
      ) as RunSummary;
      if (flags.json) {
        console.log(JSON.stringify({ runDir: result.runDir, epochs: result.epochs, summary }));
      } else {
        console.log(formatSimulation(summary, {
          epochs: result.epochs,
          virtualMs: result.world.clock.now(),
          wallMs,
        }));
        console.log(`Results: ${result.runDir} (report: ${result.runDir}/report.html)`);
      }
    });
}
