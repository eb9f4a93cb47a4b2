/**
 * `spirit agent` (a stdio session attached to the node's agent daemon, started on demand),
 * `spirit agent ensure` (start the daemon unless it runs, print its socket) and
 * `spirit agent daemon` (the daemon itself, in the foreground).
 * @module
 */
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { parseDurationMs } from "../common/units.ts";
import { DEFAULT_STATE_DIR, runDaemon } from "./daemon.ts";
import { gatherFacts } from "./facts.ts";
import { ensureDaemon, runSession } from "./session.ts";

/** Builds the `agent` command tree. */
export function agentCommand() {
  const agent = new Command("agent")
    .description(
      "Attach to this node's agent daemon (starting it if needed) and speak the agent protocol " +
        "(JSON lines) on stdin/stdout",
    )
    .option(
      "--state-dir <dir>",
      "daemon state directory (socket, pid file, app logs)",
      DEFAULT_STATE_DIR,
    )
    .option(
      "--swap-device <path...>",
      "swap device(s) to throttle for cgroup apps (default: all active)",
    )
    .option("--sample-interval <duration>", "sampling interval of every app", duration, 1000)
    .option("--no-autostart", "fail instead of starting a daemon when none is running")
    .action(async (options) => {
      const code = await runSession(sessionOptions(options));
      Deno.exit(code);
    });
  agent.addCommand(
    new Command("ensure")
      .description(
        "Start the agent daemon unless one is running, print its socket path as one JSON line " +
          '({"socket": PATH}) and exit; a controller that reaches the socket itself needs no session',
      )
      .action(async () => {
        try {
          console.log(JSON.stringify({ socket: await ensureDaemon(sessionOptions(agent.opts())) }));
        } catch (error) {
          console.error(`spirit agent ensure: ${(error as Error).message}`);
          Deno.exit(1);
        }
        Deno.exit(0);
      }),
  );
  agent.addCommand(
    new Command("facts")
      .description("Print this host's facts (HostFacts, one JSON document) and exit; no daemon")
      .action(async () => {
        console.log(JSON.stringify(await gatherFacts()));
      }),
  );
  // The daemon shares the session's options (commander parses them on `agent`, before or after
  // the subcommand name), and adds its own.
  agent.addCommand(
    new Command("daemon")
      .description("Run the agent daemon in the foreground (normally started by `spirit agent`)")
      .option("--log-file <path>", "append diagnostics to this file instead of stderr")
      .action(async (options) => {
        const shared = agent.opts();
        if (Deno.uid() !== 0) {
          // Far-memory apps need no privileges; cgroup apps fail at launch with the reason.
          console.error(
            "spirit agent daemon: not root: far-memory apps only (cgroup enforcement, swap " +
              "throttling and perf events need root)",
          );
        }
        await runDaemon({
          stateDir: shared.stateDir,
          sampleIntervalMs: shared.sampleInterval,
          ...(shared.swapDevice === undefined ? {} : { swapDevices: shared.swapDevice }),
          ...(options.logFile === undefined ? {} : { logFile: options.logFile }),
        });
        Deno.exit(0);
      }),
  );
  return agent;
}

/** The session's (and `ensure`'s) options from the `agent` command's flags. */
function sessionOptions(options: {
  stateDir: string;
  sampleInterval: number;
  swapDevice?: string[];
  autostart: boolean;
}) {
  return {
    stateDir: options.stateDir,
    autostart: options.autostart,
    daemonArgs: [
      "--sample-interval",
      `${options.sampleInterval}ms`,
      ...(options.swapDevice === undefined ? [] : ["--swap-device", ...options.swapDevice]),
    ],
  };
}

function duration(value: string): number {
  try {
    const ms = parseDurationMs(value);
    if (ms < 100) throw new RangeError(`${value} is below the 100 ms minimum`);
    return ms;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}
