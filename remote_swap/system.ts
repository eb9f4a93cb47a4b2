/**
 * The host operations around a remote swap device, each one argv call or one file: attach and
 * detach a loop device (util-linux losetup), mkswap, swapon, swapoff, /proc/swaps, mounts, and
 * fusectl's abort. A failing command reports its argv, exit code and the tail of its stderr.
 * @module
 */

/** A host command failed. */
export class CommandError extends Error {
  readonly argv: readonly string[];
  readonly code: number;
  readonly stderr: string;
  /** Creates the error. */
  constructor(argv: readonly string[], code: number, stderr: string) {
    super(`${argv.join(" ")} failed (exit ${code}): ${stderr.trim().slice(-500)}`);
    this.name = "CommandError";
    this.argv = argv;
    this.code = code;
    this.stderr = stderr;
  }
}

/** Runs `argv` and returns its trimmed stdout; throws CommandError on a non-zero exit. */
export async function run(argv: readonly string[]): Promise<string> {
  const [program, ...args] = argv;
  if (program === undefined) throw new RangeError("Empty argv");
  const output = await new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new CommandError(argv, output.code, new TextDecoder().decode(output.stderr));
  }
  return new TextDecoder().decode(output.stdout).trim();
}

/** Attaches `file` to a free loop device with direct I/O and 4 KiB sectors; returns its path. */
export async function attachLoop(file: string): Promise<string> {
  return await run([
    "losetup",
    "--find",
    "--show",
    "--direct-io=on",
    "--sector-size",
    "4096",
    file,
  ]);
}

/** Detaches a loop device; false when it was not attached. */
export async function detachLoop(device: string): Promise<boolean> {
  if (!(await loopAttached(device))) return false;
  await run(["losetup", "--detach", device]);
  return true;
}

/** True when `device` is an attached loop device. */
export async function loopAttached(device: string): Promise<boolean> {
  const list = await run(["losetup", "--list", "--noheadings", "--output", "NAME"]);
  return list.split("\n").map((line) => line.trim()).includes(device);
}

/** The file backing loop device `device`, or null when it is not attached. */
export async function loopBackingFile(device: string): Promise<string | null> {
  const name = device.replace(/^\/dev\//, "");
  try {
    return (await Deno.readTextFile(`/sys/block/${name}/loop/backing_file`)).trim();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** "major:minor" of a block device such as /dev/loop3. */
export async function majorMinorOf(device: string): Promise<string> {
  const name = device.replace(/^\/dev\//, "");
  return (await Deno.readTextFile(`/sys/block/${name}/dev`)).trim();
}

/** Writes a swap signature labelled `label`. */
export async function makeSwap(device: string, label: string): Promise<void> {
  await run(["mkswap", "--label", label, device]);
}

/** Enables swap on `device` with `priority`, discarding freed pages (FUSE punch-hole). */
export async function enableSwap(device: string, priority: number): Promise<void> {
  await run(["swapon", "--discard", "--priority", String(priority), device]);
}

/** Disables swap on `device` (reads every page back first); false when it was not active. */
export async function disableSwap(device: string): Promise<boolean> {
  if (!(await isActiveSwap(device))) return false;
  await run(["swapoff", device]);
  return true;
}

/** True when `device` is listed in /proc/swaps. */
export async function isActiveSwap(device: string): Promise<boolean> {
  const swaps = await Deno.readTextFile("/proc/swaps");
  return swaps.split("\n").slice(1).some((line) => line.split(/\s+/)[0] === device);
}

/** True when `path` is a mount point (listed in /proc/self/mountinfo). */
export async function isMountPoint(path: string): Promise<boolean> {
  const mountinfo = await Deno.readTextFile("/proc/self/mountinfo");
  return mountinfo.split("\n").some((line) => unescapeMount(line.split(" ")[4] ?? "") === path);
}

function unescapeMount(path: string): string {
  return path.replace(
    /\\([0-7]{3})/g,
    (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)),
  );
}

const FUSECTL = "/sys/fs/fuse/connections";

/**
 * Aborts the FUSE connection mounted at `mountpoint` through fusectl (mounting fusectl when it
 * is not): every request in flight and every later one fails at once, which frees a daemon stuck
 * on its own swap. Returns false when `mountpoint` is not a FUSE mount.
 */
export async function abortFuseConnection(mountpoint: string): Promise<boolean> {
  const mountinfo = await Deno.readTextFile("/proc/self/mountinfo");
  const line = mountinfo.split("\n").find((l) =>
    unescapeMount(l.split(" ")[4] ?? "") === mountpoint
  );
  const fields = line?.split(" ");
  const fsType = line?.split(" - ")[1]?.split(" ")[0] ?? "";
  if (fields === undefined || !fsType.startsWith("fuse")) return false;
  const minor = fields[2]?.split(":")[1];
  if (minor === undefined) return false;
  if (!(await isMountPoint(FUSECTL))) await run(["mount", "-t", "fusectl", "fusectl", FUSECTL]);
  await Deno.writeTextFile(`${FUSECTL}/${minor}/abort`, "1");
  return true;
}

/**
 * True when a process with `pid` runs. A zombie (exited, not yet reaped: a detached daemon's
 * parent is init, which reaps when it gets to it) counts as gone.
 */
export function processExists(pid: number): boolean {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  // "pid (comm) S ...": the state follows the last ")" (comm may contain anything).
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}

/** The command line of process `pid` (NUL-separated argv joined by spaces), or null. */
export function processCommandLine(pid: number): string | null {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").join(" ").trim();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Waits until process `pid` has exited; false when it is still there after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (processExists(pid)) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
