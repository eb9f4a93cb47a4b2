/**
 * The `spirit` command line: commander wiring only. Each command's body lives with its subject
 * and is registered here.
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { applyUsageExitCode, hostCommands } from "../host/program.ts";
import { allocateCommand } from "./allocate/allocate_command.ts";
import { benchCommand } from "./bench_command.ts";
import { compareCommand } from "./compare/command.ts";
import { demoCommand } from "./demo_command.ts";
import { reportCommand } from "./results/command.ts";
import { checkCommand, downCommand, runCommand } from "./run/command.ts";
import { simulateCommand } from "./simulate/command.ts";

export { EXIT_USAGE } from "../host/program.ts";
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
      compareCommand(),
      demoCommand(),
      ...hostCommands(),
      reportCommand(),
      runCommand(),
      simulateCommand(),
      checkCommand(),
      downCommand(),
    ]
  ) {
    program.addCommand(command);
  }
  applyUsageExitCode(program);
  return program;
}

if (import.meta.main) {
  if (Deno.version.deno !== PINNED_DENO_VERSION) {
    console.error(
      `warning: spirit is tested with Deno ${PINNED_DENO_VERSION}, this is ${Deno.version.deno}`,
    );
  }
  await buildProgram().parseAsync(Deno.args, { from: "user" });
}
