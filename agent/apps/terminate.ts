/**
 * Stopping the processes of a cgroup the agent owns: SIGTERM to each, a grace period for the
 * main process to exit, then SIGKILL to whatever is left and the cgroup removed.
 * @module
 */
import type { Cgroup } from "../cgroup/cgroup.ts";

/**
 * Terminates every process of `cgroup` and removes it. `exited` resolves when the main
 * process has ended; `running` false skips the SIGTERM and the grace period.
 */
export async function terminateCgroup(
  cgroup: Cgroup,
  options: { exited: Promise<unknown>; running: boolean; graceMs: number },
): Promise<void> {
  if (options.running) {
    for (const pid of await cgroup.pids()) {
      try {
        Deno.kill(pid, "SIGTERM");
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      options.exited,
      new Promise((resolve) => timer = setTimeout(resolve, options.graceMs)),
    ]);
    clearTimeout(timer);
  }
  await cgroup.remove();
  await options.exited;
}
