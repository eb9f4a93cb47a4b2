/**
 * Active swap devices (/proc/swaps) and the block device that throttling applies to.
 * @module
 */
import type { SwapDeviceFacts } from "../protocol.ts";

/** One line of /proc/swaps, sizes in bytes (pure parser). */
export function parseProcSwaps(text: string): Omit<SwapDeviceFacts, "device">[] {
  return text.split("\n").slice(1).flatMap((line) => {
    const [path, type, sizeKiB, usedKiB, priority] = line.trim().split(/\s+/);
    if (path === undefined || priority === undefined || path === "") return [];
    return [{
      path: path.replace(/\\040/g, " "),
      type: type ?? "",
      sizeBytes: Number(sizeKiB) * 1024,
      usedBytes: Number(usedKiB) * 1024,
      priority: Number(priority),
    }];
  });
}

/** Splits a Linux `dev_t` (as in `Deno.FileInfo.dev` / `rdev`) into "major:minor". */
export function devToMajorMinor(dev: number): string {
  const value = BigInt(dev);
  const major = ((value >> 8n) & 0xfffn) | ((value >> 32n) & ~0xfffn);
  const minor = (value & 0xffn) | ((value >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/**
 * The whole-disk "major:minor" that blk-throttle accepts for a swap device or swap file:
 * a partition maps to its disk, a swap file to the disk holding its filesystem.
 */
export async function throttleDeviceOf(path: string): Promise<string> {
  const info = await Deno.stat(path);
  const device = info.isBlockDevice ? info.rdev : info.dev;
  if (device === null) throw new Error(`Cannot find the device number of ${path}`);
  const majorMinor = devToMajorMinor(device);
  const sysPath = await Deno.realPath(`/sys/dev/block/${majorMinor}`);
  try {
    await Deno.stat(`${sysPath}/partition`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return majorMinor;
    throw error;
  }
  const parentDev = (await Deno.readTextFile(`${sysPath}/../dev`)).trim();
  return parentDev;
}

/** The active swap devices with the device each one is throttled on. */
export async function readSwapDevices(): Promise<SwapDeviceFacts[]> {
  const swaps = parseProcSwaps(await Deno.readTextFile("/proc/swaps"));
  return await Promise.all(swaps.map(async (swap) => {
    let device: string | null = null;
    try {
      device = await throttleDeviceOf(swap.path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return { ...swap, device };
  }));
}

/**
 * Finds the active swap device for `path` (compared after resolving symlinks);
 * throws a clear error when `path` is not an active swap device.
 */
export async function findActiveSwap(path: string): Promise<SwapDeviceFacts> {
  const swaps = await readSwapDevices();
  let resolved: string;
  try {
    resolved = await Deno.realPath(path);
  } catch (error) {
    throw new Error(`Swap device ${path} does not exist`, { cause: error });
  }
  const match = swaps.find((s) => s.path === resolved || s.path === path);
  if (match === undefined) {
    const active = swaps.length === 0 ? "none" : swaps.map((s) => s.path).join(", ");
    throw new Error(
      `${path} is not an active swap device (active: ${active}); enable it with swapon`,
    );
  }
  return match;
}

/**
 * The "major:minor" of the swap devices an app that names none is throttled and measured on:
 * the node's remote swap device when it has one and it is active, else every active swap
 * device (pure).
 */
export function defaultSwapDevices(
  active: readonly SwapDeviceFacts[],
  remoteSwapDevice: string | null,
): string[] {
  const remote = active.find((s) => s.path === remoteSwapDevice && s.device !== null);
  const chosen = remote === undefined ? active : [remote];
  return [...new Set(chosen.flatMap((s) => s.device ?? []))];
}
