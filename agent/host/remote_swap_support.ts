/**
 * What a remote swap device (a FUSE-backed file on a loop device) needs on this host: /dev/fuse,
 * a usable /dev/loop-control, fusermount3, and zswap's state (enabled zswap keeps swapped pages
 * in local RAM, in front of every swap device).
 * @module
 */
import type { RemoteSwapSupportFacts } from "../protocol.ts";

/** Where the host's files are (tests point these at fixtures). */
export interface RemoteSwapSupportPaths {
  readonly devFuse: string;
  readonly loopControl: string;
  readonly zswapEnabled: string;
  /** Directories searched for fusermount3 (default: PATH, then /usr/bin and /bin). */
  readonly searchPath: readonly string[];
}

/** The real locations on Linux. */
export function defaultRemoteSwapSupportPaths(): RemoteSwapSupportPaths {
  const path = (Deno.env.get("PATH") ?? "").split(":").filter((dir) => dir !== "");
  return {
    devFuse: "/dev/fuse",
    loopControl: "/dev/loop-control",
    zswapEnabled: "/sys/module/zswap/parameters/enabled",
    searchPath: [...new Set([...path, "/usr/sbin", "/usr/bin", "/sbin", "/bin"])],
  };
}

/** Reads zswap's `enabled` parameter ("Y"/"N", or "1"/"0" on old kernels); pure. */
export function parseZswapEnabled(text: string): boolean {
  const value = text.trim();
  if (value === "Y" || value === "1") return true;
  if (value === "N" || value === "0") return false;
  throw new RangeError(`Unexpected zswap "enabled" value "${value}" (expected Y or N)`);
}

/** Gathers the facts (stat and open calls only; nothing is changed). */
export async function gatherRemoteSwapSupport(
  paths: RemoteSwapSupportPaths = defaultRemoteSwapSupportPaths(),
): Promise<RemoteSwapSupportFacts> {
  return {
    devFuse: await isCharacterDevice(paths.devFuse),
    loopControl: await loopControlState(paths.loopControl),
    fusermount3: await findExecutable("fusermount3", paths.searchPath),
    zswapEnabled: await zswapState(paths.zswapEnabled),
  };
}

async function isCharacterDevice(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isCharDevice === true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** "usable" when it opens read-write (what losetup needs), else why not. */
async function loopControlState(path: string): Promise<RemoteSwapSupportFacts["loopControl"]> {
  if (!await isCharacterDevice(path)) return "absent";
  try {
    (await Deno.open(path, { read: true, write: true })).close();
    return "usable";
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) return "no-permission";
    if (error instanceof Deno.errors.NotFound) return "absent";
    throw error;
  }
}

async function findExecutable(name: string, dirs: readonly string[]): Promise<string | null> {
  for (const dir of dirs) {
    try {
      const info = await Deno.stat(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) {
        throw error;
      }
    }
  }
  return null;
}

async function zswapState(path: string): Promise<boolean | null> {
  try {
    return parseZswapEnabled(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null; // a kernel without zswap
    throw error;
  }
}
