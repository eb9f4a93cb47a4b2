/**
 * How spirit is started on a host: from this checkout on this machine, or from the runtime and
 * bundle deployed to a remote host (deploy.ts).
 * @module
 */

/** The argv that runs `spirit <args>` on one host. */
export interface SpiritRuntime {
  command(args: readonly string[]): string[];
}

/** The CLI entry point of this checkout. */
export const LOCAL_CLI = new URL("../cli.ts", import.meta.url).pathname;

/** Runs spirit from this checkout with this Deno. */
export function localRuntime(): SpiritRuntime {
  return { command: (args) => [Deno.execPath(), "run", "-A", LOCAL_CLI, ...args] };
}

/** Runs spirit from a deployed Deno binary and bundle. */
export function deployedRuntime(paths: { deno: string; bundle: string }): SpiritRuntime {
  return { command: (args) => [paths.deno, "run", "-A", paths.bundle, ...args] };
}
