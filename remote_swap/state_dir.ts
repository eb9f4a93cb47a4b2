/**
 * Where remote swap devices are recorded: a root-only directory (`/run/spirit/remote-swap/` by
 * default, `SPIRIT_REMOTE_SWAP_DIR` to override) with one subdirectory per device holding its
 * record, control socket, log, event log and FUSE mount point. `status` and `down` find devices
 * here; nothing else is trusted.
 * @module
 */
import { encodeHex } from "../common/hex.ts";
import type { DeviceRecord } from "./protocol.ts";

/** The default state directory. */
export const DEFAULT_STATE_ROOT = "/run/spirit/remote-swap";

/** The state directory in use (`SPIRIT_REMOTE_SWAP_DIR` overrides the default, for tests). */
export function stateRoot(): string {
  return Deno.env.get("SPIRIT_REMOTE_SWAP_DIR") ?? DEFAULT_STATE_ROOT;
}

/** Device ids: 16 lowercase hex digits. */
export const DEVICE_ID_PATTERN = /^[0-9a-f]{16}$/;

/** The files of one device. */
export interface DevicePaths {
  readonly dir: string;
  readonly record: string;
  readonly socket: string;
  readonly log: string;
  readonly events: string;
  readonly mountpoint: string;
}

/** Paths of device `id` under `root`. */
export function devicePaths(root: string, id: string): DevicePaths {
  if (!DEVICE_ID_PATTERN.test(id)) throw new RangeError(`Invalid remote swap device id "${id}"`);
  const dir = `${root}/${id}`;
  return {
    dir,
    record: `${dir}/state.json`,
    socket: `${dir}/control.sock`,
    log: `${dir}/daemon.log`,
    events: `${dir}/events.jsonl`,
    mountpoint: `${dir}/mnt`,
  };
}

/** A new random device id. */
export function newDeviceId(): string {
  return encodeHex(crypto.getRandomValues(new Uint8Array(8)));
}

/**
 * Creates `root` (and its parents) private to root: mode 0700, owned by uid 0. Refuses a root
 * that exists with other owners or wider permissions, naming the path and its mode.
 */
export async function ensureStateRoot(root: string): Promise<void> {
  await Deno.mkdir(root, { recursive: true, mode: 0o700 });
  const info = await Deno.stat(root);
  const mode = (info.mode ?? 0) & 0o777;
  if (info.uid !== 0 || (mode & 0o077) !== 0) {
    throw new Error(
      `Remote swap state directory ${root} must be owned by root with mode 0700 ` +
        `(it is uid ${info.uid}, mode ${mode.toString(8)})`,
    );
  }
}

/** Creates the directory of a new device (0700). */
export async function createDeviceDir(paths: DevicePaths): Promise<void> {
  await Deno.mkdir(paths.dir, { mode: 0o700 });
  await Deno.mkdir(paths.mountpoint, { mode: 0o700 });
}

/** Writes a device record atomically (0600). */
export async function writeRecord(paths: DevicePaths, record: DeviceRecord): Promise<void> {
  const partial = `${paths.record}.tmp`;
  await Deno.writeTextFile(partial, JSON.stringify(record, null, 2) + "\n", { mode: 0o600 });
  await Deno.rename(partial, paths.record);
}

/** Reads a device record; null when the device has none (yet, or any more). */
export async function readRecord(paths: DevicePaths): Promise<DeviceRecord | null> {
  try {
    return JSON.parse(await Deno.readTextFile(paths.record)) as DeviceRecord;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new Error(`Cannot read ${paths.record}: ${(error as Error).message}`, { cause: error });
  }
}

/** Ids of every device directory under `root` (none when `root` does not exist). */
export async function listDeviceIds(root: string): Promise<string[]> {
  const ids: string[] = [];
  try {
    for await (const entry of Deno.readDir(root)) {
      if (entry.isDirectory && DEVICE_ID_PATTERN.test(entry.name)) ids.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return ids.sort();
}

/** Removes a device's directory (its mount point must be unmounted). */
export async function removeDeviceDir(paths: DevicePaths): Promise<void> {
  await Deno.remove(paths.dir, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}
