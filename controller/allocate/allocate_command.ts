/**
 * `spirit allocate SCENARIO.json`: runs a policy over a scenario and prints the allocation.
 * @module
 */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { formatTable } from "../../common/table.ts";
import { type AllocationRun, runEpochs } from "../auction/epochs.ts";
import { POLICY_NAMES, type PolicyName } from "../auction/policy.ts";
import { parseScenario, ScenarioError } from "../auction/scenario.ts";

/** Builds the `allocate` command. */
export function allocateCommand() {
  return new Command("allocate")
    .description("Allocate cache and bandwidth for a scenario file with a policy")
    .argument("<scenario>", "scenario JSON file (nodes, limits, apps with performance models)")
    .addOption(
      new Option("--policy <policy>", "allocation policy").choices(POLICY_NAMES).default(
        "symbiosis" as PolicyName,
      ),
    )
    .option(
      "--epochs <n>",
      "epochs to run, each starting from the previous allocation",
      positiveInt,
      1,
    )
    .option(
      "--max-move <fraction>",
      "largest change per epoch, as a fraction of capacity (0-1]",
      fraction,
    )
    .option("--json", "print exactly one JSON document")
    .action((path, options) => {
      const scenario = readScenario(path);
      const run = runEpochs(scenario, {
        policy: options.policy,
        epochs: options.epochs,
        ...(options.maxMove === undefined ? {} : { maxMoveFraction: options.maxMove }),
      });
      console.log(options.json ? JSON.stringify(run) : formatRun(run));
    });
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError("expected a whole number of at least 1");
  }
  return n;
}

function fraction(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError("expected a number in (0, 1]");
  return n;
}

function readScenario(path: string) {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    console.error(`error: cannot read scenario file ${path}: ${(error as Error).message}`);
    Deno.exit(2);
  }
  try {
    return parseScenario(text);
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    console.error(`error: ${path}: ${error.message}`);
    Deno.exit(2);
  }
}

/** The readable form: the last epoch's allocation, prices and fairness. */
export function formatRun(run: AllocationRun): string {
  const last = run.epochs.at(-1);
  if (last === undefined) return "no epochs";
  const apps = formatTable(
    ["app", "node", "cache MiB", "bandwidth Mbps", "ops/s", "equal-split ops/s", "ratio"],
    last.apps.map((a) => [
      a.id,
      a.node,
      a.cacheMiB.toFixed(1),
      a.bandwidthMbps.toFixed(1),
      a.opsPerSec.toFixed(0),
      a.equalSplitOpsPerSec.toFixed(0),
      (a.equalSplitOpsPerSec > 0 ? a.opsPerSec / a.equalSplitOpsPerSec : 1).toFixed(3),
    ]),
  );
  const nodes = formatTable(
    ["node", "cache price", "bandwidth price", "iterations", "converged", "note"],
    last.nodes.map((n) => [
      n.id,
      n.prices.cache === null ? "-" : n.prices.cache.toExponential(3),
      n.prices.bandwidth === null ? "-" : n.prices.bandwidth.toExponential(3),
      String(n.iterations),
      n.converged ? "yes" : "no",
      n.note ?? "",
    ]),
  );
  const f = run.fairness;
  return [
    `policy ${run.policy}, epoch ${last.epoch} of ${run.epochs.length} (${
      last.elapsedMs.toFixed(2)
    } ms)`,
    "",
    apps,
    "",
    nodes,
    "",
    `Jain's index ${f.jainIndex.toFixed(4)}, geometric mean ratio ${
      f.geometricMeanRatio.toFixed(4)
    }`,
    `envy pairs ${f.envyPairs.length}, sharing-incentive violations ${f.sharingIncentiveViolations.length}, ` +
    `Pareto gaps ${f.paretoGaps.length}, idle below the equal split ${f.endowmentLosses.length}`,
  ].join("\n");
}
