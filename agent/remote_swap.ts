/**
 * The node's remote swap device, as the agent manages it: started before the apps
 * (`remote-swap-up`), removed after them (`remote-swap-down`, and at teardown), and supervised.
 * What its daemon reports (a lost or re-established memory-server connection, lost pages, a dead
 * data path) and the daemon's own death become `remote-swap` agent events; a device whose data
 * path died is removed and replaced by a new one (its swapped pages are lost either way), a few
 * times at most. The device outlives the agent (swapped pages depend on it), so a restarted
 * agent adopts the device it had started.
 * @module
 */
import { parseHostPort } from "../common/host_port.ts";
import { controlRequest, type DaemonWatch, watchDaemon } from "../remote_swap/control_client.ts";
import { isEngine, removeDevice } from "../remote_swap/down.ts";
import type { TimedEvent } from "../remote_swap/event_log.ts";
import {
  type DeviceStatus,
  type RemovedDevice,
  type UpResult,
  upResultOf,
} from "../remote_swap/protocol.ts";
import { devicePaths, listDeviceIds, readRecord, stateRoot } from "../remote_swap/state_dir.ts";
import { processExists } from "../remote_swap/system.ts";
import { RemoteSwapRefused, startRemoteSwap } from "../remote_swap/up.ts";
import type { RemoteSwapEvent, RemoteSwapRequest } from "./protocol.ts";

/** The node's remote swap device as cgroup throttling needs it. */
export interface RemoteSwapDevice {
  /** The loop device, e.g. /dev/loop3. */
  readonly path: string;
  /** Its "major:minor". */
  readonly majorMinor: string;
}

/** Why a remote swap request failed (answered as an agent error). */
export class RemoteSwapError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RemoteSwapError";
  }
}

/** A device whose data path died is replaced at most this many times per `remote-swap-up`. */
export const MAX_REMOTE_SWAP_REPLACEMENTS = 3;

/** What the supervisor reports (the agent sends it on as an event). */
export type RemoteSwapReport = Omit<RemoteSwapEvent, "event">;

/** Options of {@link RemoteSwapSupervisor}. */
export interface RemoteSwapSupervisorOptions {
  /** State directory of the devices (default {@link stateRoot}). */
  root?: string;
  /** Names this agent (its state directory); devices it starts carry it. */
  label: string;
  /** Receives every change of the device. */
  report: (report: RemoteSwapReport) => void;
  /** How often the data path of a device whose daemon died is checked (default 1000 ms). */
  enginePollMs?: number;
}

/**
 * The change a daemon event means, or null for events that change nothing the run cares about
 * (started, stopping, write-cap).
 */
export function reportOfDaemonEvent(
  device: string | null,
  event: TimedEvent,
): RemoteSwapReport | null {
  switch (event.event) {
    case "connection-lost":
      return { change: "connection-lost", device, worker: event.worker, message: event.message };
    case "reconnected":
      return {
        change: "reconnected",
        device,
        worker: event.worker,
        reattached: event.reattached,
        afterMs: event.afterMs,
        message: `reconnected to the memory server after ${event.afterMs} ms` +
          (event.reattached ? " (pages intact)" : " (new region: the old pages are lost)"),
      };
    case "remote-lost":
      return {
        change: "pages-lost",
        device,
        worker: event.worker,
        lostPages: event.lostPages,
        message: event.message,
      };
    case "unavailable":
      return { change: "unavailable", device, worker: event.worker, message: event.message };
    case "worker-failed":
      return { change: "worker-failed", device, worker: event.worker, message: event.message };
    case "engine-exited":
      return { change: "engine-exited", device, message: event.message };
    case "stop-failed":
      return { change: "stop-failed", device, message: event.message };
    default:
      return null;
  }
}

/** Starts, watches, replaces and removes the node's remote swap device. */
export class RemoteSwapSupervisor {
  readonly #root: string;
  /** Marks devices this agent started, so a restarted agent adopts only its own. */
  readonly #label: string;
  readonly #report: (report: RemoteSwapReport) => void;
  readonly #enginePollMs: number;
  #device: UpResult | null = null;
  /** The request that started the device (null for an adopted one: it is not replaced). */
  #request: RemoteSwapRequest | null = null;
  #replacements = 0;
  #watch: DaemonWatch | null = null;
  /** Checks the data path of a device whose daemon died. */
  #enginePoll: ReturnType<typeof setInterval> | null = null;
  #removing = false;
  /** Serializes adopt, up, replace and down (a request may arrive while the agent still adopts). */
  #queue: Promise<unknown> = Promise.resolve();

  /** Creates the supervisor; nothing starts until `adopt` or `up`. */
  constructor(options: RemoteSwapSupervisorOptions) {
    this.#root = options.root ?? stateRoot();
    this.#label = options.label;
    this.#report = options.report;
    this.#enginePollMs = options.enginePollMs ?? 1000;
  }

  /** The device cgroup apps are throttled and measured on by default; null when there is none. */
  device(): RemoteSwapDevice | null {
    const device = this.#device;
    return device === null ? null : { path: device.device, majorMinor: device.majorMinor };
  }

  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    // The next operation waits for this one either way; its error reaches this caller via `run`.
    this.#queue = run.then(() => undefined, () => undefined);
    return run;
  }

  /** Adopts a device this agent's label started before a restart (and watches it again). */
  adopt(): Promise<void> {
    return this.#serialized(() => this.#adopt());
  }

  async #adopt(): Promise<void> {
    if (this.#device !== null) return;
    for (const id of await listDeviceIds(this.#root)) {
      const record = await readRecord(devicePaths(this.#root, id));
      if (record?.label !== this.#label || record.device === null) continue;
      // A device whose daemon does not answer is left to remote-swap down.
      const status = await this.#status(id).catch((error: Error) => {
        this.#report({
          change: "unsupervised",
          device: record.device,
          message: `not adopted: ${error.message}; remove it with remote-swap down`,
        });
        return null;
      });
      if (status === null) continue;
      this.#device = upResultOf({ ...record, device: record.device });
      await this.#startWatch();
      return;
    }
  }

  /**
   * Starts the device (idempotent: the same request again returns the running device; a
   * different one is refused while it runs).
   */
  up(request: RemoteSwapRequest): Promise<DeviceStatus> {
    return this.#serialized(() => this.#up(request));
  }

  async #up(request: RemoteSwapRequest): Promise<DeviceStatus> {
    await this.#adopt();
    const running = this.#device;
    if (running !== null) {
      const same = running.memserver === request.memserver &&
        running.sizeBytes >= request.sizeBytes;
      if (!same) {
        throw new RemoteSwapError(
          `a remote swap device already runs (${running.device}, ${running.sizeBytes} bytes on ` +
            `${running.memserver}); remove it with remote-swap-down first`,
        );
      }
      return await this.#status(running.id);
    }
    try {
      parseHostPort(request.memserver);
      this.#device = await this.#start(request);
    } catch (error) {
      if (error instanceof RemoteSwapRefused || error instanceof RangeError) {
        throw new RemoteSwapError(`remote swap refused: ${error.message}`, { cause: error });
      }
      throw error;
    }
    this.#request = request;
    this.#replacements = 0;
    await this.#startWatch();
    return await this.#status(this.#device.id);
  }

  #start(request: RemoteSwapRequest): Promise<UpResult> {
    return startRemoteSwap({
      memserver: request.memserver,
      tokenFile: request.tokenFile,
      sizeBytes: request.sizeBytes,
      transport: request.transport ?? "auto",
      root: this.#root,
      label: this.#label,
      ...(request.priority === undefined ? {} : { priority: request.priority }),
      ...(request.writeCapBytesPerSec === undefined
        ? {}
        : { writeCapBytesPerSec: request.writeCapBytesPerSec }),
    });
  }

  /** Changes the node-level swap-out cap live (null removes it). */
  async setWriteCap(bytesPerSec: number | null): Promise<DeviceStatus> {
    const device = this.#require();
    const response = await controlRequest(
      devicePaths(this.#root, device.id).socket,
      { op: "set-write-cap", bytesPerSec },
      { timeoutMs: 5000 },
    );
    if (!response.ok || !("status" in response)) {
      throw new RemoteSwapError(`setting the write cap failed: ${JSON.stringify(response)}`);
    }
    return response.status;
  }

  /** Removes the device (swapoff, loop detach, unmount, daemon exit); null when there is none. */
  down(): Promise<RemovedDevice | null> {
    return this.#serialized(() => this.#down());
  }

  async #down(): Promise<RemovedDevice | null> {
    await this.#adopt();
    const device = this.#device;
    if (device === null) return null;
    const removed = await this.#remove(device);
    this.#request = null;
    return removed;
  }

  /** Stops watching `device` and removes it. */
  async #remove(device: UpResult): Promise<RemovedDevice | null> {
    this.#removing = true;
    try {
      this.#stopWatching();
      const removed = await removeDevice(this.#root, device.id);
      this.#device = null;
      return removed;
    } finally {
      this.#removing = false;
    }
  }

  #stopWatching(): void {
    this.#watch?.close();
    this.#watch = null;
    if (this.#enginePoll !== null) clearInterval(this.#enginePoll);
    this.#enginePoll = null;
  }

  #require(): UpResult {
    if (this.#device === null) throw new RemoteSwapError("no remote swap device runs on this node");
    return this.#device;
  }

  async #status(id: string): Promise<DeviceStatus> {
    const response = await controlRequest(devicePaths(this.#root, id).socket, { op: "status" }, {
      timeoutMs: 5000,
    });
    if (!response.ok || !("status" in response)) {
      throw new RemoteSwapError(`the remote swap daemon answered ${JSON.stringify(response)}`);
    }
    return response.status;
  }

  async #startWatch(): Promise<void> {
    const device = this.#require();
    const watch = await watchDaemon(devicePaths(this.#root, device.id).socket, (event) => {
      const report = reportOfDaemonEvent(device.device, event);
      if (report !== null) this.#report(report);
      if (event.event === "engine-exited") this.#replaceLater(device);
    });
    this.#watch = watch;
    watch.ended.then(() => {
      if (this.#removing || this.#watch !== watch) return;
      this.#watch = null;
      this.#onDaemonExit(device);
    }, (error: Error) => {
      if (this.#watch !== watch) return;
      this.#report({
        change: "unsupervised",
        device: device.device,
        message: `watching its daemon failed: ${error.message}`,
      });
    });
  }

  /** The daemon died: the C engine may serve on; its own death is noticed by polling. */
  #onDaemonExit(device: UpResult): void {
    const alive = () =>
      device.enginePid !== device.pid && processExists(device.enginePid) &&
      isEngine(device.enginePid, device.mountpoint);
    const serving = alive();
    this.#report({
      change: "daemon-exited",
      device: device.device,
      message: `its daemon (pid ${device.pid}) exited unexpectedly; ` +
        (serving
          ? `the data path (pid ${device.enginePid}) serves on without supervision or control`
          : "the data path is gone with it"),
    });
    const engineGone = () => {
      this.#report({
        change: "engine-exited",
        device: device.device,
        message: `the data path (pid ${device.enginePid}) of ${device.device} ended; pages ` +
          "swapped to it are lost (programs touching them get SIGBUS)",
      });
      this.#replaceLater(device);
    };
    if (!serving) return engineGone();
    this.#enginePoll = setInterval(() => {
      if (alive()) return;
      if (this.#enginePoll !== null) clearInterval(this.#enginePoll);
      this.#enginePoll = null;
      engineGone();
    }, this.#enginePollMs);
  }

  #replaceLater(device: UpResult): void {
    this.#serialized(() => this.#replace(device)).catch((error: Error) =>
      this.#report({
        change: "replace-failed",
        device: device.device,
        message: `replacing the dead device failed: ${error.message}`,
      })
    );
  }

  /**
   * Removes `dead` (its swapped pages are lost: swapoff completes with them poisoned) and, when
   * the agent started it and has replacements left, starts a new device with the same request.
   */
  async #replace(dead: UpResult): Promise<void> {
    if (this.#device?.id !== dead.id) return; // removed or replaced meanwhile
    const removed = await this.#remove(dead);
    const steps = removed === null ? "already gone" : removed.removed.join(", ");
    const request = this.#request;
    if (request === null || this.#replacements >= MAX_REMOTE_SWAP_REPLACEMENTS) {
      this.#request = null;
      this.#report({
        change: "replace-failed",
        device: dead.device,
        message: `dead device removed (${steps}); not replaced: ` +
          (request === null
            ? "it was adopted, not started by this agent"
            : `replaced ${MAX_REMOTE_SWAP_REPLACEMENTS} times already`),
      });
      return;
    }
    this.#replacements++;
    this.#device = await this.#start(request);
    await this.#startWatch();
    this.#report({
      change: "replaced",
      device: this.#device.device,
      message: `dead device ${dead.device} removed (${steps}) and replaced by ` +
        `${this.#device.device} (replacement ${this.#replacements} of at most ` +
        `${MAX_REMOTE_SWAP_REPLACEMENTS})`,
    });
  }
}
