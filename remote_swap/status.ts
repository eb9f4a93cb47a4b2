/**
 * `remote-swap status`: every device recorded in the state directory, as its daemon reports it,
 * or from its record (state "dead", counters 0) when the daemon does not answer.
 * @module
 */
import { controlRequest, DaemonUnreachableError } from "./control_client.ts";
import type { DeviceRecord, DeviceStatus } from "./protocol.ts";
import { devicePaths, listDeviceIds, readRecord } from "./state_dir.ts";

/** The JSON document `remote-swap status --json` prints. */
export interface StatusDocument {
  devices: DeviceStatus[];
}

/** How long a daemon has to answer `status`. */
const STATUS_TIMEOUT_MS = 5000;

/** Status of every recorded device under `root`. */
export async function listDevices(root: string): Promise<StatusDocument> {
  const devices: DeviceStatus[] = [];
  for (const id of await listDeviceIds(root)) {
    const paths = devicePaths(root, id);
    const record = await readRecord(paths);
    if (record === null) continue;
    try {
      const response = await controlRequest(paths.socket, { op: "status" }, {
        timeoutMs: STATUS_TIMEOUT_MS,
      });
      if (response.ok && "status" in response) {
        devices.push(response.status);
        continue;
      }
    } catch (error) {
      if (!(error instanceof DaemonUnreachableError)) throw error;
    }
    devices.push(deadStatus(record));
  }
  return { devices };
}

/** The status of a device whose daemon does not answer. */
export function deadStatus(record: DeviceRecord): DeviceStatus {
  return {
    device: record.device,
    bytesRead: 0,
    bytesWritten: 0,
    remoteBytesInUse: 0,
    pid: record.pid,
    id: record.id,
    majorMinor: record.majorMinor,
    mountpoint: record.mountpoint,
    sizeBytes: record.sizeBytes,
    transport: record.transport,
    engine: record.engine,
    enginePid: record.enginePid,
    memserver: record.memserver,
    priority: record.priority,
    state: "dead",
    bytesDiscarded: 0,
    lostBytes: 0,
    ioErrors: 0,
    reconnects: 0,
    writeCapBytesPerSec: null,
    writeCapWaitMs: 0,
    readaheadHits: null,
    readaheadBytes: null,
    startedAtMs: record.createdAtMs,
    guards: null,
  };
}
