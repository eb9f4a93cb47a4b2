/**
 * Finding the cgroup hierarchies: which controllers are mounted where, and whether they are
 * v1 or v2. The parser is pure; {@link detectCgroups} reads /proc/self/mountinfo.
 * @module
 */

/** One mounted cgroup hierarchy. */
export interface CgroupMount {
  version: 1 | 2;
  /** Mount point, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  /** v1: the hierarchy's controllers (from the mount options); v2: filled from cgroup.controllers. */
  controllers: string[];
}

/** Where the controllers spirit uses live, detected automatically. */
export interface CgroupLayout {
  mounts: CgroupMount[];
  /** The hierarchy with the memory controller, v2 preferred when it has memory. */
  memory: CgroupMount | null;
  /** The hierarchy that throttles block I/O: v2 `io` or v1 `blkio`, same version as `memory`. */
  io: CgroupMount | null;
}

const V1_CONTROLLERS = new Set([
  "cpu",
  "cpuacct",
  "cpuset",
  "memory",
  "devices",
  "freezer",
  "net_cls",
  "blkio",
  "perf_event",
  "net_prio",
  "hugetlb",
  "pids",
  "rdma",
  "misc",
]);

/** Parses /proc/self/mountinfo into cgroup mounts (v2 controllers left empty). */
export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    if (left === undefined || right === undefined) continue;
    const mountPoint = unescapeMountPath(left.split(" ")[4] ?? "");
    const [fsType, , superOptions = ""] = right.split(" ");
    if (fsType === "cgroup2") {
      mounts.push({ version: 2, mountPoint, controllers: [] });
    } else if (fsType === "cgroup") {
      const controllers = superOptions.split(",").filter((o) => V1_CONTROLLERS.has(o));
      mounts.push({ version: 1, mountPoint, controllers });
    }
  }
  return mounts;
}

/** Unescapes a mountinfo path (`\\040` for a space). */
export function unescapeMountPath(path: string): string {
  return path.replace(
    /\\([0-7]{3})/g,
    (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)),
  );
}

/**
 * Chooses the memory and io hierarchies: cgroup v2 when its root offers `memory`, else the v1
 * `memory` and `blkio` hierarchies (pure).
 */
export function chooseLayout(mounts: CgroupMount[]): CgroupLayout {
  const v2 = mounts.find((m) => m.version === 2 && m.controllers.includes("memory"));
  if (v2) {
    return { mounts, memory: v2, io: v2.controllers.includes("io") ? v2 : null };
  }
  const memory = mounts.find((m) => m.version === 1 && m.controllers.includes("memory")) ?? null;
  const io = mounts.find((m) => m.version === 1 && m.controllers.includes("blkio")) ?? null;
  return { mounts, memory, io };
}

/** Reads the mounted cgroup hierarchies of this host and picks the ones to use. */
export async function detectCgroups(): Promise<CgroupLayout> {
  const mounts = parseCgroupMounts(await Deno.readTextFile("/proc/self/mountinfo"));
  for (const mount of mounts) {
    if (mount.version !== 2) continue;
    try {
      const text = await Deno.readTextFile(`${mount.mountPoint}/cgroup.controllers`);
      mount.controllers = text.trim().split(/\s+/).filter((c) => c.length > 0);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return chooseLayout(mounts);
}
