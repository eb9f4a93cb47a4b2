/**
 * Entry point that runs only `spirit workload` (what the agent starts on a compute node), so it
 * can run without loading the whole command line.
 * @module
 */
import { workloadCommand } from "./command.ts";

if (import.meta.main) {
  const command = workloadCommand().exitOverride((error) => {
    Deno.exit(error.code === "commander.helpDisplayed" || error.code === "commander.help" ? 0 : 2);
  });
  await command.parseAsync(Deno.args, { from: "user" });
}
