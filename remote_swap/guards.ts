/**
 * How the swap daemon keeps itself from deadlocking on its own swap: it leaves every cgroup (a
 * memory limit would make it reclaim its own pages through itself) by joining the root of each
 * cgroup hierarchy, v1 and v2, and it sets oom_score_adj to -1000 so the OOM killer never picks
 * the process every swapped page depends on. Its data path (the C engine) inherits both and
 * locks its own memory.
 * @module
 */

/** Mount points of every cgroup hierarchy (v1 `cgroup` and v2 `cgroup2`) in a mountinfo text. */
export function cgroupMountPoints(mountinfo: string): string[] {
  const points: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    const fsType = right?.split(" ")[0];
    const fields = left?.split(" ");
    // Only mounts of a hierarchy's root (field 4 is "/") are that hierarchy's root cgroup.
    if ((fsType === "cgroup" || fsType === "cgroup2") && fields?.[3] === "/") {
      const point = fields[4];
      if (point !== undefined) points.push(point.replace(/\\040/g, " "));
    }
  }
  return points;
}

/**
 * Moves process `pid` into the root cgroup of every mounted hierarchy. Returns the
 * `cgroup.procs` files written; throws naming the file when one cannot be written.
 */
export async function leaveCgroups(pid: number): Promise<string[]> {
  const points = cgroupMountPoints(await Deno.readTextFile("/proc/self/mountinfo"));
  const joined: string[] = [];
  for (const point of points) {
    const procs = `${point}/cgroup.procs`;
    try {
      await Deno.writeTextFile(procs, `${pid}\n`);
    } catch (error) {
      throw new Error(`Cannot move the swap daemon into ${procs}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    joined.push(procs);
  }
  return joined;
}

/** The value written to /proc/self/oom_score_adj. */
export const OOM_SCORE_ADJ = -1000;

/**
 * Exempts this process from the OOM killer. Lowering the score needs CAP_SYS_RESOURCE, which
 * some containers withhold: then the value is left as it was and the error is returned.
 */
export async function avoidOomKiller(): Promise<{ oomScoreAdj: number; error?: string }> {
  try {
    await Deno.writeTextFile("/proc/self/oom_score_adj", `${OOM_SCORE_ADJ}\n`);
    return { oomScoreAdj: OOM_SCORE_ADJ };
  } catch (error) {
    if (!(error instanceof Deno.errors.PermissionDenied)) throw error;
    const current = Number((await Deno.readTextFile("/proc/self/oom_score_adj")).trim());
    return {
      oomScoreAdj: current,
      error: `oom_score_adj ${OOM_SCORE_ADJ} refused (needs CAP_SYS_RESOURCE): ${error.message}`,
    };
  }
}
