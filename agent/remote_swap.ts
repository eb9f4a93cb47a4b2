/**
 * The node's remote swap device, as the agent manages it: started before the apps
 * (`remote-swap-up`), removed after them (`remote-swap-down`, and at teardown), and supervised:
 * what its daemon reports (a lost or re-established memory-server connection, lost pages, a dead
 * data path) and the daemon's own death become agent `warning` events. The device outlives the
 * agent (swapped pages depend on it), so a restarted agent adopts the device it had started.
 * @module
 */
import { parseHostPort } from "../common/host_port.ts";
import { controlRequest, type DaemonWatch, watchDaemon } from "../remote_swap/control_client.ts";
import { removeDevice } from "../remote_swap/down.ts";
import type { TimedEvent } from "../remote_swap/event_log.ts";
import {
  type DeviceStatus,
  type RemovedDevice,
  type UpResult,
  upResultOf,
} from "../remote_swap/protocol.ts";
import { devicePaths, listDeviceIds, readRecord, stateRoot } from "../remote_swap/state_dir.ts";
import { RemoteSwapRefused, startRemoteSwap } from "../remote_swap/up.ts";
import type { RemoteSwapRequest } from "./protocol.ts";

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

/** Starts, watches and removes the node's remote swap device. */
export class RemoteSwapSupervisor {
  readonly #root: string;
  /** Marks devices this agent started, so a restarted agent adopts only its own. */
  readonly #label: string;
  readonly #warn: (message: string) => void;
  #device: UpResult | null = null;
  #watch: DaemonWatch | null = null;
  #removing = false;
  /** Serializes adopt, up and down (a request may arrive while the agent still adopts). */
  #queue: Promise<unknown> = Promise.resolve();

  /** `label` names this agent (its state directory); `warn` emits an agent warning. */
  constructor(options: { root?: string; label: string; warn: (message: string) => void }) {
    this.#root = options.root ?? stateRoot();
    this.#label = options.label;
    this.#warn = options.warn;
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
        this.#warn(`remote swap ${record.device}: not adopted: ${error.message}`);
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
      this.#device = await startRemoteSwap({
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
    } catch (error) {
      if (error instanceof RemoteSwapRefused || error instanceof RangeError) {
        throw new RemoteSwapError(`remote swap refused: ${error.message}`, { cause: error });
      }
      throw error;
    }
    await this.#startWatch();
    return await this.#status(this.#device.id);
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
    this.#removing = true;
    try {
      this.#watch?.close();
      const removed = await removeDevice(this.#root, device.id);
      this.#device = null;
      this.#watch = null;
      return removed;
    } finally {
      this.#removing = false;
    }
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
    const where = `remote swap ${device.device}`;
    const watch = await watchDaemon(
      devicePaths(this.#root, device.id).socket,
      (event) => this.#onEvent(where, event),
    );
    this.#watch = watch;
    watch.ended.then(() => {
      if (this.#removing || this.#watch !== watch) return;
      this.#warn(
        `${where}: its daemon (pid ${device.pid}) exited unexpectedly; the data path ` +
          `(pid ${device.enginePid}) ${device.engine === "c" ? "may still serve" : "is gone"}; ` +
          "remove the device with remote-swap-down",
      );
    }, (error: Error) => this.#warn(`${where}: watching its daemon failed: ${error.message}`));
  }

  #onEvent(where: string, event: TimedEvent): void {
    switch (event.event) {
      case "connection-lost":
      case "remote-lost":
      case "unavailable":
      case "worker-failed":
      case "engine-exited":
      case "stop-failed":
        this.#warn(`${where}: ${event.event}: ${event.message}`);
        return;
      case "reconnected":
        this.#warn(
          `${where}: reconnected to the memory server after ${event.afterMs} ms` +
            (event.reattached ? " (pages intact)" : " (new region)"),
        );
        return;
      default:
        return;
    }
  }
}
