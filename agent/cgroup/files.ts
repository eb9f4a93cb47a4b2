/**
 * Reading and writing cgroup control files with errors that name the file and the value.
 * @module
 */

/** A write to a cgroup control file failed. */
export class CgroupWriteError extends Error {
  readonly file: string;
  readonly value: string;
  constructor(file: string, options: { value: string; cause: unknown }) {
    const { value, cause } = options;
    super(
      `Cannot write "${value}" to ${file}: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      {
        cause,
      },
    );
    this.name = "CgroupWriteError";
    this.file = file;
    this.value = value;
  }
  /** True when the kernel answered EBUSY (a v1 limit below usage that reclaim could not reach). */
  get busy(): boolean {
    return errorCode(this.cause) === "EBUSY" || this.cause instanceof Deno.errors.Busy;
  }
}

/** The errno name Deno attached to a system error (`EBUSY`, ...), if any. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return typeof error.code === "string" ? error.code : undefined;
}

/** Writes `value` to a control file (one write). */
export async function writeControl(file: string, value: string): Promise<void> {
  try {
    await Deno.writeTextFile(file, value);
  } catch (error) {
    throw new CgroupWriteError(file, { value, cause: error });
  }
}

/** Reads a control file, or null when it does not exist on this kernel. */
export async function readControl(file: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** True when the file exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** The pids listed in a cgroup.procs file (empty when the cgroup is gone). */
export async function readPids(procsFile: string): Promise<number[]> {
  const text = await readControl(procsFile);
  if (text === null) return [];
  return text.split("\n").filter((l) => l.trim() !== "").map(Number);
}

/**
 * Kills every process in the cgroups (SIGKILL, repeated for late forks), waits until all
 * `procsFiles` are empty, then removes `dirs` deepest first. Idempotent.
 */
export async function killAndRemove(
  procsFiles: readonly string[],
  dirs: readonly string[],
  options: { timeoutMs?: number; removeEmptyParents?: boolean } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const pids = (await Promise.all(procsFiles.map(readPids))).flat();
    if (pids.length === 0) break;
    for (const pid of new Set(pids)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Processes ${pids.join(", ")} did not leave ${procsFiles.join(", ")} in time`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  for (const dir of dirs) {
    for (;;) {
      try {
        await Deno.remove(dir);
        break;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) break;
        // A just-killed task may still be exiting: the kernel answers EBUSY until it is gone.
        if (Date.now() > deadline) throw new Error(`Cannot remove cgroup ${dir}`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }
  if (options.removeEmptyParents) {
    for (const dir of dirs) await removeIfEmptyCgroup(dir.slice(0, dir.lastIndexOf("/")));
  }
}

/** Removes a cgroup directory if it has no children and no processes left (else leaves it). */
export async function removeIfEmptyCgroup(dir: string): Promise<void> {
  try {
    await Deno.remove(dir);
  } catch (error) {
    // Busy: another spirit cgroup (or a process) still lives there; it removes the parent later.
    if (
      error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied ||
      errorCode(error) === "EBUSY"
    ) return;
    throw error;
  }
}
