/**
 * How spirit is started on a host: from this checkout on this machine, or from the runtime and
 * bundle deployed to a remote host (deploy.ts). Both run the host command line (host/cli.ts).
 * @module
 */

/** The argv that runs `spirit <args>` on one host. */
export interface SpiritRuntime {
  command(args: readonly string[]): string[];
}

/** The full CLI entry point of this checkout (controller commands included). */
export const LOCAL_CLI = new URL("../cli.ts", import.meta.url).pathname;

/** The host CLI entry point of this checkout: what hosts run, and what deploy bundles. */
export const LOCAL_HOST_CLI = new URL("../../host/cli.ts", import.meta.url).pathname;

/** Runs the host commands from this checkout with this Deno. */
export function localRuntime(): SpiritRuntime {
  return { command: (args) => [Deno.execPath(), "run", "-A", LOCAL_HOST_CLI, ...args] };
}

/** Runs the host commands from a deployed Deno binary and bundle. */
export function deployedRuntime(paths: { deno: string; bundle: string }): SpiritRuntime {
  return { command: (args) => [paths.deno, "run", "-A", paths.bundle, ...args] };
}
