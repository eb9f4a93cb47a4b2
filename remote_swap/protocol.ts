/**
 * What the swap daemon says about itself: the ready line it prints once the device is active,
 * the record kept in its state directory, the status it reports, and the requests its control
 * socket accepts (JSON lines, one response per request; `watch` streams events). Pure types.
 * @module
 */
import type { SwapEvent } from "./backend.ts";

/** Transport the daemon uses to reach the memory server. */
export type SwapTransport = "tcp" | "rdma";

/** Which implementation serves the data path: the C engine or the TypeScript workers. */
export type EngineKind = "c" | "ts";

/** The record of one device in its state directory (`state.json`). */
export interface DeviceRecord {
  id: string;
  /** The loop device, e.g. "/dev/loop3" (null until it is attached). */
  device: string | null;
  /** Its "major:minor" (what cgroup I/O throttles name). */
  majorMinor: string | null;
  mountpoint: string;
  /** The daemon's process id. */
  pid: number;
  /** The C engine's process id (null for the TypeScript data path, or before it starts). */
  enginePid: number | null;
  sizeBytes: number;
  transport: SwapTransport;
  engine: EngineKind;
  /** "host:port" of the memory server. */
  memserver: string;
  priority: number;
  createdAtMs: number;
  /** Who started it (the agent's state directory), so a restarted agent adopts its own. */
  label?: string;
}

/** The one line `remote-swap up --json` prints, and the daemon's ready line. */
export interface UpResult {
  device: string;
  mountpoint: string;
  pid: number;
  sizeBytes: number;
  transport: SwapTransport;
  id: string;
  majorMinor: string;
  priority: number;
  memserver: string;
  engine: EngineKind;
  /** The process serving the data path (the C engine; the daemon itself for "ts"). */
  enginePid: number;
}

/** What `up` reports about a recorded device (whose loop device is attached). */
export function upResultOf(record: DeviceRecord & { device: string }): UpResult {
  return {
    device: record.device,
    mountpoint: record.mountpoint,
    pid: record.pid,
    sizeBytes: record.sizeBytes,
    transport: record.transport,
    id: record.id,
    majorMinor: record.majorMinor ?? "",
    priority: record.priority,
    memserver: record.memserver,
    engine: record.engine,
    enginePid: record.enginePid ?? record.pid,
  };
}

/** How the daemon protects itself from deadlocking on its own swap. */
export interface DaemonGuards {
  /** cgroup.procs files the daemon moved itself into (the root of each hierarchy). */
  cgroupsJoined: string[];
  /** The score in force (-1000 unless the kernel refused it: then `oomScoreAdjError` says why). */
  oomScoreAdj: number;
  oomScoreAdjError?: string;
  /** Whether the data path's memory is locked (mlockall in the C engine), or why not. */
  memoryLock: true | string;
  /** PR_SET_IO_FLUSHER on the I/O threads: true, or the error (EPERM) it gave. */
  ioFlusher: true | string;
}

/** Health of the device's link to remote memory. */
export type DeviceHealth =
  /** Every worker is connected. */
  | "active"
  /** Some worker is reconnecting (I/O waits). */
  | "reconnecting"
  /** Retries exhausted: swap I/O fails with EIO. */
  | "unavailable"
  /** Being removed. */
  | "stopping"
  /** The data path (the C engine) died: swapped pages are lost; remove the device. */
  | "failed";

/** One device as `remote-swap status` reports it. */
export interface DeviceStatus {
  device: string | null;
  /** Bytes the kernel read from / wrote to the device since it started. */
  bytesRead: number;
  bytesWritten: number;
  /** Bytes of this device held on the memory server now (written, not discarded). */
  remoteBytesInUse: number;
  pid: number;
  id: string;
  majorMinor: string | null;
  mountpoint: string;
  sizeBytes: number;
  transport: SwapTransport;
  engine: EngineKind;
  /** The process serving the data path (the C engine, or the daemon itself). */
  enginePid: number | null;
  memserver: string;
  priority: number;
  /** `dead` when the daemon does not answer (its device needs `remote-swap down`). */
  state: DeviceHealth | "dead";
  bytesDiscarded: number;
  /** Bytes the memory server lost (reads of them fail with EIO). */
  lostBytes: number;
  ioErrors: number;
  reconnects: number;
  /** The node-level swap-out cap, bytes per second (null: none). */
  writeCapBytesPerSec: number | null;
  /** Milliseconds swap-out waited for the cap, summed over requests. */
  writeCapWaitMs: number;
  /**
   * Reads the C engine answered from its sequential read-ahead, and the bytes it fetched into it
   * (null: the TypeScript engine, which has none, or a dead daemon).
   */
  readaheadHits: number | null;
  readaheadBytes: number | null;
  startedAtMs: number;
  guards: DaemonGuards | null;
}

/** Requests on the control socket. */
export type ControlRequest =
  | { op: "status" }
  /** 0 or null removes the cap. */
  | { op: "set-write-cap"; bytesPerSec: number | null }
  /** swapoff, loop detach, unmount, exit; answered with what was removed. */
  | { op: "down" }
  /** Keeps the connection open and sends every later event as a line. */
  | { op: "watch" };

/** What `down` removed. */
export interface RemovedDevice {
  id: string;
  device: string | null;
  /**
   * Steps done, in order: "swapoff", "loop-detach", "unmount", "engine-stop" (or "engine-kill"),
   * "state", "daemon-exit"; a removal without a live daemon lists "daemon-kill", "fuse-abort".
   */
  removed: string[];
}

/** Responses on the control socket. */
export type ControlResponse =
  | { ok: true; status: DeviceStatus }
  | { ok: true; removed: RemovedDevice }
  | { ok: true; watching: true }
  | { ok: false; error: string };

/** A line of the daemon's event stream (events.jsonl, `watch`). */
export type DaemonEvent =
  | SwapEvent
  | { event: "started"; device: string }
  | { event: "stopping"; reason: string }
  /** Removal failed (swapoff); the device stays active. */
  | { event: "stop-failed"; message: string }
  /** The data path's process ended while the device was active (fatal for swapped pages). */
  | { event: "engine-exited"; message: string }
  | { event: "write-cap"; bytesPerSec: number | null };

/** Parses a control request line (pure); returns an error message for bad input. */
export function parseControlRequest(line: string): ControlRequest | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { error: `request is not JSON: ${(error as Error).message}` };
  }
  if (typeof value !== "object" || value === null || !("op" in value)) {
    return { error: "request needs an op: status, set-write-cap, down or watch" };
  }
  switch (value.op) {
    case "status":
    case "down":
    case "watch":
      return { op: value.op };
    case "set-write-cap": {
      const rate = "bytesPerSec" in value ? value.bytesPerSec : undefined;
      if (rate === null) return { op: "set-write-cap", bytesPerSec: null };
      if (typeof rate !== "number" || !Number.isFinite(rate) || rate < 0) {
        return { error: "set-write-cap.bytesPerSec must be a non-negative number or null" };
      }
      return { op: "set-write-cap", bytesPerSec: rate };
    }
    default:
      return {
        error: `unknown op ${JSON.stringify(value.op)}: status, set-write-cap, down, watch`,
      };
  }
}
