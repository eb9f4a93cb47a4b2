/**
 * Entry point that runs only `spirit memserver` (what a memory node needs), so deployments and
 * tests can start the server without loading the whole command line.
 * @module
 */
import { memserverCommand } from "./command.ts";

if (import.meta.main) {
  const command = memserverCommand().exitOverride((error) => {
    Deno.exit(error.code === "commander.helpDisplayed" || error.code === "commander.help" ? 0 : 2);
  });
  await command.parseAsync(Deno.args, { from: "user" });
}
