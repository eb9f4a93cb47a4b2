/**
 * `spirit demo`: the embedded default. Until the controller runs playbooks end to end, it
 * shows the market on the paper's single-VM scenario: every policy side by side.
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { formatTable } from "../common/table.ts";
import { runEpochs } from "./auction/epochs.ts";
import { POLICY_NAMES } from "./auction/policy.ts";
import { parseScenario } from "./auction/scenario.ts";

const SCENARIO = new URL("../playbooks/scenarios/paper_vm.json", import.meta.url);

/** Builds the `demo` command. */
export function demoCommand() {
  return new Command("demo")
    .description(
      "Run the embedded default: the allocation market on the paper's single-VM scenario",
    )
    .action(() => {
      const scenario = parseScenario(Deno.readTextFileSync(SCENARIO));
      console.log(`Scenario ${scenario.name}: ${SCENARIO.pathname}\n`);
      const rows = POLICY_NAMES.map((policy) => {
        const run = runEpochs(scenario, { policy, epochs: 3 });
        const last = run.epochs.at(-1);
        const apps = last?.apps ?? [];
        return [
          policy,
          ...apps.map((a) =>
            `${a.cacheMiB.toFixed(0)}/${a.bandwidthMbps.toFixed(0)} ${
              (a.opsPerSec / 1000).toFixed(1)
            }k`
          ),
          run.fairness.geometricMeanRatio.toFixed(3),
          String(run.fairness.envyPairs.length),
          String(run.fairness.sharingIncentiveViolations.length),
          `${(last?.elapsedMs ?? 0).toFixed(2)}`,
        ];
      });
      const apps = scenario.markets.flatMap((m) => m.apps.map((a) => `${a.id} (MiB/Mbps ops/s)`));
      console.log(
        formatTable(["policy", ...apps, "geo-mean vs equal", "envy", "SI violations", "ms"], rows),
      );
      console.log(
        "\nRun `deno task spirit allocate playbooks/scenarios/paper_vm.json --json` for details.",
      );
    });
}
