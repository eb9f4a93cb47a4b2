/**
 * The swap daemon (`spirit remote-swap daemon`): owns one remote swap device from start to
 * removal. Start: leave every cgroup (a memory limit would make the data path reclaim its own
 * pages through itself), try oom_score_adj -1000; check the memory server (reachable, secret
 * accepted, protocol with swap regions, or an RDMA listener); start the data path (the C engine,
 * which mounts the one-file FUSE filesystem and locks its memory; or the TypeScript workers);
 * attach the file to a loop device with direct I/O; mkswap; swapon. Then it sends one ready line
 * to its starter and serves its control socket. Removal (on `down`, SIGTERM or SIGINT): swapoff
 * (the data path keeps serving while the kernel reads every page back), loop detach, unmount,
 * data path stops, exit. A failed start undoes every step it made and reports one error line.
 * @module
 */
import { unmountPath } from "../ffi/fuse.ts";
import { redirectOutput } from "../ffi/libc.ts";
import { probeRdmaServer } from "../memserver/client/rdma_transport.ts";
import { TcpTransport } from "../memserver/client/tcp_transport.ts";
import { RemoteError } from "../memserver/client/transport.ts";
import { SWAP_PROTOCOL_VERSION } from "../memserver/protocol.ts";
import type { RetryPolicy, SwapEvent } from "./backend.ts";
import { ControlServer } from "./control_server.ts";
import { buildSwapEngine } from "./engine/build.ts";
import { CEngine, EngineStartError } from "./engine/c_engine.ts";
import { EventLog } from "./event_log.ts";
import { SWAP_FILE_NAME } from "./fuse_protocol.ts";
import { avoidOomKiller, leaveCgroups } from "./guards.ts";
import type { EngineKind, IoEngine } from "./io_engine.ts";
import {
  type DaemonGuards,
  type DeviceHealth,
  type DeviceRecord,
  type DeviceStatus,
  type RemovedDevice,
  type SwapTransport,
  type UpResult,
  upResultOf,
} from "./protocol.ts";
import { LinkState } from "./shared_state.ts";
import {
  createDeviceDir,
  type DevicePaths,
  devicePaths,
  ensureStateRoot,
  removeDeviceDir,
  writeRecord,
} from "./state_dir.ts";
import {
  attachLoop,
  detachLoop,
  disableSwap,
  enableSwap,
  isMountPoint,
  majorMinorOf,
  makeSwap,
} from "./system.ts";
import { TsEngine } from "./ts_engine.ts";
import { WorkerRefusedError } from "./workers.ts";

/** Options of {@link runSwapDaemon}. */
export interface SwapDaemonOptions {
  readonly id: string;
  readonly root: string;
  readonly memserver: { readonly hostname: string; readonly port: number };
  readonly tokenFile: string;
  readonly token: Uint8Array;
  readonly sizeBytes: number;
  readonly transport: SwapTransport | "auto";
  /** Data path over TCP (RDMA always uses the TypeScript one). */
  readonly engine: EngineKind;
  readonly priority: number;
  readonly workers: number;
  readonly writeCapBytesPerSec: number | null;
  readonly retry: RetryPolicy;
  /** Timeout of connect, send and receive on the memory-server links. */
  readonly ioTimeoutMs: number;
  /** Unix socket of the starter, which gets the one ready (or error) line. */
  readonly readySocket: string;
  /** False only in tests: the loop device is attached but swap is not enabled on it. */
  readonly swapon: boolean;
  /** Recorded with the device (who started it). */
  readonly label?: string;
}

/** Why a start failed, as the starter reports it. */
export type StartFailure = "auth" | "unreachable" | "protocol" | "setup";

/** The one line the daemon sends its starter. */
export type DaemonReadyLine =
  | ({ event: "ready" } & UpResult)
  | { event: "error"; reason: StartFailure; message: string };

/** A start that failed, with the reason to report. */
class StartError extends Error {
  readonly reason: StartFailure;
  constructor(reason: StartFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** What the daemon has set up so far (undone in reverse order). */
interface Setup {
  engine: IoEngine | null;
  mounted: boolean;
  device: string | null;
  swapOn: boolean;
}

/** Runs the daemon until the device is removed. Returns the process exit code. */
export async function runSwapDaemon(options: SwapDaemonOptions): Promise<number> {
  const paths = devicePaths(options.root, options.id);
  const setup: Setup = { engine: null, mounted: false, device: null, swapOn: false };
  const events = new EventLog(paths.events);
  let guards: DaemonGuards;
  let record: DeviceRecord;
  try {
    await ensureStateRoot(options.root);
    await createDeviceDir(paths);
    redirectOutput(paths.log);
    guards = await protectProcess();
    const remote = await checkMemoryServer(options);
    record = {
      id: options.id,
      device: null,
      majorMinor: null,
      mountpoint: paths.mountpoint,
      pid: Deno.pid,
      enginePid: null,
      sizeBytes: options.sizeBytes,
      transport: remote.transport,
      engine: remote.transport === "rdma" ? "ts" : options.engine,
      memserver: `${options.memserver.hostname}:${options.memserver.port}`,
      priority: options.priority,
      createdAtMs: Date.now(),
      ...(options.label === undefined ? {} : { label: options.label }),
    };
    await writeRecord(paths, record);
    setup.mounted = true; // the engine mounts; undo checks whether it did
    setup.engine = await startEngine(options, record, remote, (event) => events.append(event));
    record = { ...record, enginePid: setup.engine.pid };
    guards = { ...guards, ioFlusher: setup.engine.ioFlusher, memoryLock: setup.engine.memoryLock };
    setup.device = await attachLoop(`${paths.mountpoint}/${SWAP_FILE_NAME}`);
    record = { ...record, device: setup.device, majorMinor: await majorMinorOf(setup.device) };
    await writeRecord(paths, record);
    if (options.swapon) {
      await makeSwap(setup.device, `spirit-${options.id}`.slice(0, 16));
      await enableSwap(setup.device, options.priority);
      setup.swapOn = true;
    }
  } catch (error) {
    const reason = error instanceof StartError || error instanceof EngineStartError
      ? error.reason
      : "setup";
    const message = error instanceof Error ? error.message : String(error);
    const failed = (await undo(setup, paths)).filter((step) => step.includes(" failed: "));
    await reportReady(options.readySocket, {
      event: "error",
      reason,
      message: failed.length === 0 ? message : `${message} (cleanup: ${failed.join("; ")})`,
    });
    return 1;
  }
  return await serve({ options, paths, setup, record, guards, events });
}

async function startEngine(
  options: SwapDaemonOptions,
  record: DeviceRecord,
  remote: { transport: "tcp"; ip: string } | { transport: "rdma" },
  onEvent: (event: SwapEvent) => void,
): Promise<IoEngine> {
  const fsName = `spirit-swap-${options.id}`;
  const writeCap = options.writeCapBytesPerSec ?? 0;
  if (remote.transport === "tcp" && options.engine === "c") {
    return await CEngine.start({
      binary: await buildSwapEngine(options.root),
      mountpoint: record.mountpoint,
      fsName,
      sizeBytes: options.sizeBytes,
      ip: remote.ip,
      port: options.memserver.port,
      tokenFile: options.tokenFile,
      workers: options.workers,
      writeCapBytesPerSec: writeCap,
      ioTimeoutMs: options.ioTimeoutMs,
      retry: options.retry,
      onEvent,
    });
  }
  try {
    return await TsEngine.start({
      mountpoint: record.mountpoint,
      fsName,
      sizeBytes: options.sizeBytes,
      // One RDMA connection is one region, so RDMA runs a single worker.
      workers: remote.transport === "rdma" ? 1 : options.workers,
      writeCapBytesPerSec: writeCap,
      timeSec: Math.floor(record.createdAtMs / 1000),
      retry: options.retry,
      remote: remote.transport === "tcp"
        ? {
          transport: "tcp",
          target: {
            ip: remote.ip,
            port: options.memserver.port,
            token: options.token,
            key: crypto.getRandomValues(new Uint8Array(32)),
            sizeBytes: options.sizeBytes,
            timeoutMs: options.ioTimeoutMs,
          },
        }
        : {
          transport: "rdma",
          hostname: options.memserver.hostname,
          port: options.memserver.port,
          token: options.token,
        },
      onEvent,
    });
  } catch (error) {
    if (!(error instanceof WorkerRefusedError)) throw error;
    const reason = error.reason === "other" ? "setup" : error.reason;
    throw new StartError(
      reason,
      `the memory server at ${record.memserver} refused: ${error.message}`,
    );
  }
}

/** Everything the running daemon holds. */
interface Running {
  options: SwapDaemonOptions;
  paths: DevicePaths;
  setup: Setup;
  record: DeviceRecord;
  guards: DaemonGuards;
  events: EventLog;
}

async function serve(running: Running): Promise<number> {
  const { paths, setup, record, guards, events } = running;
  const engine = setup.engine;
  if (engine === null) throw new Error("the data path is not running");
  const startedAtMs = Date.now();
  let stopping = false;
  let failed: string | null = null;
  engine.exited.then((how) => {
    if (stopping) return;
    failed = `the data path (${engine.kind} engine, pid ${engine.pid}) ended: ${how}`;
    events.append({
      event: "engine-exited",
      message: `${failed}; pages swapped to ${record.device} are lost (programs touching them ` +
        `get SIGBUS); remove the device with remote-swap down`,
    });
  });
  let removal: Promise<RemovedDevice> | null = null;
  const status = async (): Promise<DeviceStatus> => {
    const { totals, links, writeCapBytesPerSec, readahead } = failed === null
      ? await engine.snapshot()
      : { totals: lastTotals, links: [], writeCapBytesPerSec: 0, readahead: undefined };
    lastTotals = totals;
    const health: DeviceHealth = stopping
      ? "stopping"
      : failed !== null
      ? "failed"
      : links.some((l) => l === LinkState.UNAVAILABLE)
      ? "unavailable"
      : links.some((l) => l === LinkState.RECONNECTING)
      ? "reconnecting"
      : "active";
    return {
      device: record.device,
      bytesRead: totals.bytesRead,
      bytesWritten: totals.bytesWritten,
      remoteBytesInUse: totals.storedPages * 4096,
      pid: Deno.pid,
      id: record.id,
      majorMinor: record.majorMinor,
      mountpoint: record.mountpoint,
      sizeBytes: record.sizeBytes,
      transport: record.transport,
      engine: engine.kind,
      enginePid: engine.pid,
      memserver: record.memserver,
      priority: record.priority,
      state: health,
      bytesDiscarded: totals.bytesDiscarded,
      lostBytes: totals.lostPages * 4096,
      ioErrors: totals.ioErrors,
      reconnects: totals.reconnects,
      writeCapBytesPerSec: writeCapBytesPerSec === 0 ? null : writeCapBytesPerSec,
      writeCapWaitMs: Math.round(totals.writeCapWaitMs),
      readaheadHits: readahead?.hits ?? null,
      readaheadBytes: readahead?.bytes ?? null,
      startedAtMs,
      guards,
    };
  };
  let lastTotals = (await engine.snapshot()).totals;
  let finish: (removed: RemovedDevice) => void = () => {};
  const finished = new Promise<RemovedDevice>((resolve) => finish = resolve);
  const remove = (reason: string): Promise<RemovedDevice> => {
    removal ??= (async () => {
      stopping = true;
      events.append({ event: "stopping", reason });
      const removed = await teardown(setup, paths);
      return { id: record.id, device: record.device, removed };
    })().catch((error: Error) => {
      // swapoff failed (too little memory to bring every page back): keep serving.
      removal = null;
      stopping = false;
      events.append({ event: "stop-failed", message: error.message });
      throw error;
    });
    removal.then(finish, () => {});
    return removal;
  };
  const control = ControlServer.listen(paths.socket, {
    status,
    setWriteCap: (bytesPerSec) => {
      engine.setWriteCap(bytesPerSec ?? 0);
      events.append({ event: "write-cap", bytesPerSec });
      return status();
    },
    down: () => remove("down requested"),
    events,
  });
  const ready: UpResult = upResultOf({ ...record, device: record.device ?? "" });
  await writeRecord(paths, record);
  events.append({ event: "started", device: ready.device });
  await reportReady(running.options.readySocket, { event: "ready", ...ready });
  const onSignal = () => void remove("signal").catch((error: Error) => log(error.message));
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  let outcome: RemovedDevice;
  try {
    outcome = await finished;
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSignalListener("SIGINT", onSignal);
  }
  await control.close();
  return outcome.removed.some((step) => step.includes(" failed: ")) ? 1 : 0;
}

/** Leaves every cgroup and tries to become OOM-exempt (the data path inherits both). */
async function protectProcess(): Promise<DaemonGuards> {
  try {
    const cgroupsJoined = await leaveCgroups(Deno.pid);
    const oom = await avoidOomKiller();
    return {
      cgroupsJoined,
      oomScoreAdj: oom.oomScoreAdj,
      ...(oom.error === undefined ? {} : { oomScoreAdjError: oom.error }),
      memoryLock: "not started",
      ioFlusher: "not started",
    };
  } catch (error) {
    throw new StartError("setup", (error as Error).message, { cause: error });
  }
}

/**
 * Checks the memory server before anything is mounted: reachable, the secret accepted, a
 * protocol with swap regions (TCP); or an RDMA listener (rdma, or auto when one answers).
 */
async function checkMemoryServer(
  options: SwapDaemonOptions,
): Promise<{ transport: "tcp"; ip: string } | { transport: "rdma" }> {
  const where = `${options.memserver.hostname}:${options.memserver.port}`;
  if (options.transport !== "tcp") {
    const probe = await probeRdmaServer(options.memserver);
    if (probe.offered) return { transport: "rdma" };
    if (options.transport === "rdma") {
      throw new StartError("unreachable", `no RDMA memory server at ${where}: ${probe.reason}`);
    }
  }
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ ...options.memserver, transport: "tcp" });
  } catch (error) {
    throw new StartError(
      "unreachable",
      `the memory server at ${where} is unreachable: ${(error as Error).message}`,
    );
  }
  const ip = conn.remoteAddr.hostname;
  const transport = new TcpTransport(conn);
  try {
    await transport.hello(options.token);
  } catch (error) {
    if (error instanceof RemoteError && error.statusName === "AUTH_FAILED") {
      throw new StartError(
        "auth",
        `the memory server at ${where} refused the secret (AUTH_FAILED)`,
      );
    }
    throw new StartError(
      "unreachable",
      `the memory server at ${where} failed: ${(error as Error).message}`,
    );
  } finally {
    await transport.close();
  }
  if (transport.version < SWAP_PROTOCOL_VERSION) {
    throw new StartError(
      "protocol",
      `the memory server at ${where} speaks protocol ${transport.version}; remote swap needs ` +
        `${SWAP_PROTOCOL_VERSION} (a newer spirit memserver)`,
    );
  }
  return { transport: "tcp", ip };
}

/**
 * Removes the device in order; returns the steps done (a later step that fails is listed with
 * its error). Throws, leaving everything in place, when swapoff fails.
 */
async function teardown(setup: Setup, paths: DevicePaths): Promise<string[]> {
  const removed: string[] = [];
  if (setup.device !== null && setup.swapOn) {
    // The data path keeps serving while the kernel reads every page back.
    if (await disableSwap(setup.device)) removed.push("swapoff");
    setup.swapOn = false;
  }
  removed.push(...await undo(setup, paths), "daemon-exit");
  return removed;
}

/**
 * Undoes the steps in `setup`: swapoff, loop detach, unmount, data path, state directory.
 * Returns the steps done; a failing step is listed as "<step> failed: <why>" and the next ones
 * still run.
 */
async function undo(setup: Setup, paths: DevicePaths): Promise<string[]> {
  const done: string[] = [];
  const step = async (name: string, fn: () => Promise<boolean | void> | boolean | void) => {
    try {
      if ((await fn()) !== false) done.push(name);
    } catch (error) {
      done.push(`${name} failed: ${(error as Error).message}`);
    }
  };
  if (setup.swapOn && setup.device !== null) {
    const device = setup.device;
    await step("swapoff", () => disableSwap(device));
    setup.swapOn = false;
  }
  if (setup.device !== null) {
    const device = setup.device;
    await step("loop-detach", () => detachLoop(device));
    setup.device = null;
  }
  if (setup.mounted) {
    await step("unmount", async () => {
      if (!(await isMountPoint(paths.mountpoint))) return false;
      return unmountPath(paths.mountpoint, { lazy: true });
    });
    setup.mounted = false;
  }
  const engine = setup.engine;
  if (engine !== null) {
    // Unmounted, the engine ends once the kernel lets the mount go; one that does not is killed.
    await step("engine-stop", () => engine.stopped(15_000));
    if (!done.includes("engine-stop")) await step("engine-kill", () => engine.kill());
    setup.engine = null;
  }
  await step("state", () => removeDeviceDir(paths));
  return done;
}

/** Sends the one ready (or error) line to the starter; a starter gone away is logged. */
async function reportReady(socket: string, line: DaemonReadyLine): Promise<void> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socket });
  } catch (error) {
    log(`cannot report to ${socket}: ${(error as Error).message}; ${JSON.stringify(line)}`);
    return;
  }
  try {
    await conn.write(new TextEncoder().encode(JSON.stringify(line) + "\n"));
  } finally {
    conn.close();
  }
}

/** Appends a line to the daemon's log (stdout and stderr point there once its state exists). */
function log(line: string): void {
  console.error(`${new Date().toISOString()} ${line}`);
}
