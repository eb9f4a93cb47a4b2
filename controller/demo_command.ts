/**
 * `spirit demo`: the embedded default, playbooks/local.ts: everything on this machine, no root,
 * no SSH (the same as `deno task demo` and `deno run -A playbooks/local.ts`).
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { loadPlaybook } from "./playbook/load.ts";
import { type RunFlags, runWithFlags } from "./run/command.ts";

const LOCAL_PLAYBOOK = new URL("../playbooks/local.ts", import.meta.url).pathname;

/** Builds the `demo` command. */
export function demoCommand() {
  return new Command("demo")
    .description(
      "Run the embedded default playbook (playbooks/local.ts): a memory server, an agent and three far-memory apps on this machine",
    )
    .option("--policy <policy>", "override the policy (e.g. static, the baseline)")
    .option("--duration <duration>", "override the run length")
    .option("--out <dir>", "override the output directory")
    .option("--quiet", "print only where the results are")
    .action(async (flags) => {
      const playbook = await loadPlaybook(LOCAL_PLAYBOOK);
      Deno.exit(await runWithFlags(playbook, flags as RunFlags, LOCAL_PLAYBOOK));
    });
}
