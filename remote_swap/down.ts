/**
 * Removing remote swap devices (`remote-swap down`, the agent's `remote-swap-down`): a live
 * daemon is asked to remove its device (swapoff, loop detach, unmount, exit); for a dead one
 * the same steps are done here, checking each against the device's own record (the loop device
 * must be backed by this device's FUSE file, the process must be this device's daemon), with
 * fusectl's abort as the last resort for a mount whose daemon is stuck. Idempotent.
 * @module
 */
import { controlRequest, DaemonUnreachableError } from "./control_client.ts";
import { SWAP_FILE_NAME } from "./fuse_protocol.ts";
import { unmountPath } from "../ffi/fuse.ts";
import type { RemovedDevice } from "./protocol.ts";
import { devicePaths, listDeviceIds, readRecord, removeDeviceDir } from "./state_dir.ts";
import {
  abortFuseConnection,
  detachLoop,
  disableSwap,
  isMountPoint,
  loopBackingFile,
  processCommandLine,
  processExists,
  waitForExit,
} from "./system.ts";

/** Removes device `id` under `root`; null when there is no such device. */
export async function removeDevice(root: string, id: string): Promise<RemovedDevice | null> {
  const paths = devicePaths(root, id);
  const record = await readRecord(paths);
  try {
    await Deno.stat(paths.dir);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  try {
    const response = await controlRequest(paths.socket, { op: "down" });
    if (!response.ok) {
      throw new Error(`The swap daemon of ${id} refused to stop: ${response.error}`);
    }
    if (!("removed" in response)) {
      throw new Error(`The swap daemon of ${id} answered down with ${JSON.stringify(response)}`);
    }
    // The daemon exits right after its answer; "down" returns once it has.
    if (record !== null && !(await waitForExit(record.pid, 10_000))) {
      throw new Error(`The swap daemon of ${id} (pid ${record.pid}) did not exit after down`);
    }
    return response.removed;
  } catch (error) {
    if (!(error instanceof DaemonUnreachableError)) throw error;
  }
  // The daemon does not answer: it is dead, or stuck. Stop it for good; then, if its data
  // path (the C engine) still serves, remove the device in order so every page comes back;
  // otherwise fail whatever the kernel is still owed first (fusectl abort).
  const removed: string[] = [];
  if (record !== null && processExists(record.pid) && isDaemon(record.pid, id)) {
    Deno.kill(record.pid, "SIGKILL");
    await waitForExit(record.pid, 10_000);
    removed.push("daemon-kill");
  }
  const enginePid = record?.enginePid ?? null;
  const engineAlive = enginePid !== null && enginePid !== record?.pid &&
    processExists(enginePid) && isEngine(enginePid, paths.mountpoint);
  const mounted = await isMountPoint(paths.mountpoint);
  if (mounted && !engineAlive && await abortFuseConnection(paths.mountpoint)) {
    removed.push("fuse-abort");
  }
  const device = record?.device ?? null;
  if (
    device !== null && (await loopBackingFile(device)) === `${paths.mountpoint}/${SWAP_FILE_NAME}`
  ) {
    // Served by a live engine, every page comes back; with the connection aborted, the kernel
    // gives up on pages still swapped out (programs touching them get SIGBUS) and completes.
    if (await disableSwap(device)) removed.push("swapoff");
    if (await detachLoop(device)) removed.push("loop-detach");
  }
  if (mounted && unmountPath(paths.mountpoint, { lazy: true })) removed.push("unmount");
  if (engineAlive && enginePid !== null) {
    // Unmounted, the engine ends by itself; one that does not is killed.
    if (!(await waitForExit(enginePid, 15_000))) {
      Deno.kill(enginePid, "SIGKILL");
      await waitForExit(enginePid, 10_000);
      removed.push("engine-kill");
    } else {
      removed.push("engine-stop");
    }
  }
  await removeDeviceDir(paths);
  removed.push("state");
  return { id, device, removed };
}

/** True when process `pid` is the C swap engine serving `mountpoint`. */
export function isEngine(pid: number, mountpoint: string): boolean {
  const commandLine = processCommandLine(pid) ?? "";
  return commandLine.includes("swap_engine") && commandLine.includes(mountpoint);
}

function isDaemon(pid: number, id: string): boolean {
  const commandLine = processCommandLine(pid) ?? "";
  return commandLine.includes("remote-swap daemon") && commandLine.includes(id);
}

/** Which devices to remove: one loop device (e.g. /dev/loop3), those of a label, or all. */
export type DeviceSelector = { device: string } | { label: string } | "all";

/** Removes the devices `which` selects. Returns what was removed (empty: already removed). */
export async function removeRemoteSwap(
  root: string,
  which: DeviceSelector,
): Promise<RemovedDevice[]> {
  const removed: RemovedDevice[] = [];
  for (const id of await listDeviceIds(root)) {
    if (which !== "all") {
      const record = await readRecord(devicePaths(root, id));
      const selected = "device" in which
        ? record?.device === which.device
        : record?.label === which.label;
      if (!selected) continue;
    }
    const result = await removeDevice(root, id);
    if (result !== null) removed.push(result);
  }
  return removed;
}
