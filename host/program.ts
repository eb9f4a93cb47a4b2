/**
 * The host-side command line (`agent`, `memserver`, `workload`, `exec`, `loadgen`, `remote-swap` under one
 * `spirit` program), built for host/cli.ts and registered by the full CLI (controller/cli.ts).
 * It imports no controller code.
 * @module
 */
import { Command, type CommanderError } from "@commander-js/extra-typings";
import { agentCommand } from "../agent/command.ts";
import { execCommand } from "../agent/exec_command.ts";
import { AGENT_VERSION } from "../agent/host_facts.ts";
import { loadgenCommand } from "../loadgen/command.ts";
import { memserverCommand } from "../memserver/command.ts";
import { remoteSwapCommand } from "../remote_swap/command.ts";
import { workloadCommand } from "../workloads/command.ts";

/** Exit status for usage errors (unknown command or flag, invalid input files). */
export const EXIT_USAGE = 2;

/** The commands a compute or memory host runs (what the controller starts there). */
export function hostCommands(): Command[] {
  return [
    memserverCommand(),
    workloadCommand(),
    agentCommand(),
    execCommand(),
    loadgenCommand(),
    remoteSwapCommand(),
  ] as Command[];
}

/** The host-side command line: {@linkcode hostCommands} under one `spirit` program. */
export function buildHostProgram(): Command {
  const program = new Command("spirit")
    .description("spirit on a host: agent, memory server, workloads, exec, loadgen, remote swap")
    .version(AGENT_VERSION)
    .showHelpAfterError("(run with --help for usage)");
  for (const command of hostCommands()) program.addCommand(command);
  applyUsageExitCode(program);
  return program;
}

/** Makes commander exit with status 2 on usage errors, everywhere in the command tree. */
export function applyUsageExitCode(command: Command<unknown[], Record<string, unknown>>): void {
  command.exitOverride((error: CommanderError) => {
    const benign = error.code === "commander.helpDisplayed" || error.code === "commander.version" ||
      error.code === "commander.help";
    Deno.exit(benign ? 0 : EXIT_USAGE);
  });
  for (const sub of command.commands) {
    applyUsageExitCode(sub as Command<unknown[], Record<string, unknown>>);
  }
}
