/**
 * Starting a remote swap device (`remote-swap up`, and the agent's `remote-swap-up`): checks
 * what can be checked here (root, /dev/fuse, the secret file), starts the swap daemon detached
 * (it must outlive whoever started it: every swapped page depends on it), and waits for its one
 * ready or error line. Nothing is left behind when it refuses.
 * @module
 */
import { readLines } from "../common/lines.ts";
import { spiritCliPath } from "../common/spirit_cli.ts";
import { readTokenFile } from "../common/token_file.ts";
import type { DaemonReadyLine } from "./daemon.ts";
import { removeDevice } from "./down.ts";
import type { EngineKind, SwapTransport, UpResult } from "./protocol.ts";
import { devicePaths, ensureStateRoot, newDeviceId, stateRoot } from "./state_dir.ts";

/** What to start. */
export interface UpOptions {
  /** "host:port" of the memory server. */
  readonly memserver: string;
  readonly tokenFile: string;
  readonly sizeBytes: number;
  readonly transport: SwapTransport | "auto";
  /** swapon priority (default 32000: above ordinary disk swap). */
  readonly priority?: number;
  /** Node-level swap-out cap, bytes/s (default none). */
  readonly writeCapBytesPerSec?: number;
  /** I/O worker threads (default 2 over TCP; RDMA always uses 1). */
  readonly workers?: number;
  /** Data path over TCP (default "c", the memory-locked engine). */
  readonly engine?: EngineKind;
  /** Tests only: false attaches the loop device without enabling swap on it. */
  readonly swapon?: boolean;
  /** Recorded with the device (the agent marks the devices it starts). */
  readonly label?: string;
  /** State directory (default {@link stateRoot}). */
  readonly root?: string;
  /** How long to wait for the daemon's ready line (default 120 s). */
  readonly readyTimeoutMs?: number;
}

/** Default swapon priority of a remote swap device. */
export const DEFAULT_SWAP_PRIORITY = 32000;
/** Smallest device (mkswap needs a few pages; smaller is not useful). */
export const MIN_SWAP_BYTES = 1 << 20;

/** Why `up` refused: the one-line reason and a kind callers can test. */
export class RemoteSwapRefused extends Error {
  readonly reason:
    | "not-root"
    | "no-fuse"
    | "bad-input"
    | "auth"
    | "unreachable"
    | "protocol"
    | "setup";
  /** Creates the refusal. */
  constructor(reason: RemoteSwapRefused["reason"], message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RemoteSwapRefused";
    this.reason = reason;
  }
}

/** The FUSE device checked and opened (`SPIRIT_FUSE_DEVICE` overrides it, for tests). */
export function fuseDevicePath(): string {
  return Deno.env.get("SPIRIT_FUSE_DEVICE") ?? "/dev/fuse";
}

/** Refuses unless this process can run the daemon: root, and the FUSE device present. */
export async function checkPrerequisites(): Promise<void> {
  if (Deno.uid() !== 0) {
    throw new RemoteSwapRefused(
      "not-root",
      `remote swap needs root (it mounts FUSE, attaches a loop device and enables swap); ` +
        `running as uid ${Deno.uid()}`,
    );
  }
  const fuse = fuseDevicePath();
  let isCharDevice = false;
  try {
    isCharDevice = (await Deno.stat(fuse)).isCharDevice === true;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (!isCharDevice) {
    throw new RemoteSwapRefused(
      "no-fuse",
      `${fuse} is missing: load the FUSE module (modprobe fuse) or give the container /dev/fuse`,
    );
  }
}

/** Checks the inputs and starts the daemon; resolves once the device is active. */
export async function startRemoteSwap(options: UpOptions): Promise<UpResult> {
  await checkPrerequisites();
  const priority = options.priority ?? DEFAULT_SWAP_PRIORITY;
  if (!Number.isInteger(priority) || priority < -1 || priority > 32767) {
    throw new RemoteSwapRefused(
      "bad-input",
      `priority ${priority} must be an integer in -1..32767`,
    );
  }
  if (!Number.isSafeInteger(options.sizeBytes) || options.sizeBytes < MIN_SWAP_BYTES) {
    throw new RemoteSwapRefused("bad-input", `size ${options.sizeBytes} must be at least 1MiB`);
  }
  try {
    await readTokenFile(options.tokenFile);
  } catch (error) {
    throw new RemoteSwapRefused(
      "bad-input",
      `cannot read the token file ${options.tokenFile}: ${(error as Error).message}`,
    );
  }
  const root = options.root ?? stateRoot();
  const id = newDeviceId();
  const sizeBytes = Math.ceil(options.sizeBytes / 4096) * 4096;
  const args = [
    "run",
    "-A",
    spiritCliPath(),
    "remote-swap",
    "daemon",
    "--id",
    id,
    "--state-dir",
    root,
    "--memserver",
    options.memserver,
    "--token-file",
    options.tokenFile,
    "--size",
    String(sizeBytes),
    "--transport",
    options.transport,
    "--priority",
    String(priority),
    "--workers",
    String(options.workers ?? 2),
    "--engine",
    options.engine ?? "c",
    ...(options.swapon === false ? ["--no-swapon"] : []),
    ...(options.label === undefined ? [] : ["--label", options.label]),
    ...(options.writeCapBytesPerSec === undefined
      ? []
      : ["--write-cap", String(options.writeCapBytesPerSec)]),
  ];
  await ensureStateRoot(root);
  const readySocket = `${root}/${id}.ready.sock`;
  const listener = Deno.listen({ transport: "unix", path: readySocket });
  let line: DaemonReadyLine | "exited" | "timeout";
  try {
    // The daemon outlives us, so it gets no pipes: its one ready (or error) line comes over
    // readySocket, and everything it says later goes to its log file.
    const child = new Deno.Command(Deno.execPath(), {
      args: [...args, "--ready-socket", readySocket],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn();
    line = await firstLine(listener, child, options.readyTimeoutMs ?? 120_000);
    if (line === "timeout") child.kill("SIGKILL");
    if (line !== "exited" && line !== "timeout" && line.event === "ready") child.unref();
    else await child.status;
  } finally {
    listener.close();
    await Deno.remove(readySocket).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
  if (line === "exited" || line === "timeout") {
    const log = await logTail(devicePaths(root, id).log);
    // A daemon that died half-way leaves its device directory behind: remove what it made.
    const cleanup = await removeDevice(root, id).then(
      () => "",
      (error: Error) => ` (cleanup failed: ${error.message})`,
    );
    throw new RemoteSwapRefused(
      "setup",
      (line === "timeout"
        ? `the swap daemon was not ready within ${options.readyTimeoutMs ?? 120_000} ms`
        : "the swap daemon exited before it was ready") +
        (log === "" ? "" : `: ${log}`) + cleanup,
    );
  }
  if (line.event === "error") throw new RemoteSwapRefused(line.reason, line.message);
  const { event: _event, ...result } = line;
  return result;
}

/** The daemon's first line on the ready socket; "exited" if it exits first, or "timeout". */
async function firstLine(
  listener: Deno.Listener,
  child: Deno.ChildProcess,
  timeoutMs: number,
): Promise<DaemonReadyLine | "exited" | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) =>
    timer = setTimeout(() => resolve("timeout"), timeoutMs)
  );
  const exited = child.status.then(() => "exited" as const);
  const accepted = (async (): Promise<DaemonReadyLine | "exited"> => {
    const conn = await listener.accept();
    try {
      for await (const text of readLines(conn.readable)) return JSON.parse(text) as DaemonReadyLine;
      return "exited";
    } finally {
      closeQuietly(conn);
    }
  })().catch((error) => {
    // The listener closes once we stop waiting; an accept still pending then ends here.
    if (error instanceof Deno.errors.BadResource) return "exited" as const;
    throw error;
  });
  try {
    // A daemon that writes its line and exits (an error) must still be heard: prefer the line.
    const first = await Promise.race([accepted, exited, timeout]);
    if (first === "exited") {
      return await Promise.race([
        accepted,
        new Promise<"exited">((r) => setTimeout(() => r("exited"), 500)),
      ]);
    }
    return first;
  } finally {
    clearTimeout(timer);
  }
}

/** The last lines of the daemon's log (where it reports what went wrong), or "". */
async function logTail(path: string): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trim().split("\n").slice(-3).join(" | ");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}
