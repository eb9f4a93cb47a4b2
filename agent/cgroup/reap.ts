/**
 * Removing cgroups left behind by a daemon that died without teardown. Its apps died with it
 * (they run with a parent-death signal), so their `spirit/<appId>` cgroups are empty; a new
 * daemon removes them at start. `spirit exec` cgroups (`exec-<pid>`) belong to running exec
 * processes and are left alone. One agent daemon per host is assumed.
 * @module
 */
import { SPIRIT_CGROUP_PARENT } from "./cgroup.ts";
import { readPids, removeIfEmptyCgroup } from "./files.ts";
import type { CgroupLayout } from "./mounts.ts";

/** What {@link reapOrphanCgroups} did. */
export interface ReapResult {
  /** Empty cgroups removed. */
  removed: string[];
  /** Cgroups that still hold processes (left in place). */
  busy: string[];
}

/** Removes empty `spirit/<name>` cgroups (except `exec-*`) in the memory and io hierarchies. */
export async function reapOrphanCgroups(layout: CgroupLayout): Promise<ReapResult> {
  const result: ReapResult = { removed: [], busy: [] };
  const mounts = new Set(
    [layout.memory?.mountPoint, layout.io?.mountPoint].filter((m) => m !== undefined),
  );
  for (const mount of mounts) {
    const parent = `${mount}/${SPIRIT_CGROUP_PARENT}`;
    let names: string[];
    try {
      names = [...Deno.readDirSync(parent)].filter((e) => e.isDirectory).map((e) => e.name);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    for (const name of names) {
      if (name.startsWith("exec-")) continue;
      const dir = `${parent}/${name}`;
      if ((await readPids(`${dir}/cgroup.procs`)).length > 0) {
        result.busy.push(dir);
        continue;
      }
      try {
        await Deno.remove(dir);
        result.removed.push(dir);
      } catch (error) {
        // A daemon without root cannot remove cgroups; report them as left in place.
        if (!(error instanceof Deno.errors.PermissionDenied)) throw error;
        result.busy.push(dir);
      }
    }
    await removeIfEmptyCgroup(parent);
  }
  return result;
}
