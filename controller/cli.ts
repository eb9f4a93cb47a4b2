/**
 * The `spirit` command line: commander wiring only. Each command's body lives with its subject
 * and is registered here.
 * @module
 */
import { Command, type CommanderError } from "@commander-js/extra-typings";
import { allocateCommand } from "./auction/allocate_command.ts";
import { benchCommand } from "./bench_command.ts";
import { demoCommand } from "./demo_command.ts";
import { memserverCommand } from "../memserver/command.ts";
import { workloadCommand } from "../agent/workloads/command.ts";
import { agentCommand } from "../agent/command.ts";
import { execCommand } from "../agent/exec_command.ts";
import { reportCommand } from "./results/command.ts";
import { checkCommand, downCommand, runCommand } from "./run/command.ts";
import { remoteSwapCommand } from "../remote_swap/command.ts";
import { installSwapWorker, inWorkerScope } from "../remote_swap/io_worker.ts";

/** Exit status for usage errors (unknown command or flag, invalid input files). */
export const EXIT_USAGE = 2;
/** The Deno version this project is pinned to. */
export const PINNED_DENO_VERSION = "2.9.6";

/** Builds the whole command tree; exported so tests can drive it without a subprocess. */
export function buildProgram(): Command {
  const program = new Command("spirit")
    .description(
      "Fair sharing of local memory (cache) and remote-memory bandwidth with a CEEI market",
    )
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)");
  for (
    const command of [
      allocateCommand(),
      benchCommand(),
      demoCommand(),
      memserverCommand(),
      workloadCommand(),
      agentCommand(),
      execCommand(),
      reportCommand(),
      runCommand(),
      checkCommand(),
      downCommand(),
      remoteSwapCommand(),
    ]
  ) {
    program.addCommand(command);
  }
  applyUsageExitCode(program);
  return program;
}

/** Makes commander exit with status 2 on usage errors, everywhere in the command tree. */
function applyUsageExitCode(command: Command<unknown[], Record<string, unknown>>): void {
  command.exitOverride((error: CommanderError) => {
    const benign = error.code === "commander.helpDisplayed" || error.code === "commander.version" ||
      error.code === "commander.help";
    Deno.exit(benign ? 0 : EXIT_USAGE);
  });
  for (const sub of command.commands) {
    applyUsageExitCode(sub as Command<unknown[], Record<string, unknown>>);
  }
}

if (import.meta.main && inWorkerScope()) {
  // A bundled spirit starts itself as the swap daemon's I/O workers.
  installSwapWorker();
} else if (import.meta.main) {
  if (Deno.version.deno !== PINNED_DENO_VERSION) {
    console.error(
      `warning: spirit is tested with Deno ${PINNED_DENO_VERSION}, this is ${Deno.version.deno}`,
    );
  }
  await buildProgram().parseAsync(Deno.args, { from: "user" });
}
