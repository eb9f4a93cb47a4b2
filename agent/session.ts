/**
 * `spirit agent`: a thin stdio session that relays JSON lines between its stdin/stdout (the
 * controller, locally or through `ssh host spirit agent`) and the agent daemon's Unix socket,
 * starting the daemon first when none is running. Ending the session (EOF, a dropped SSH
 * connection) never stops the daemon or its apps; the next session re-attaches.
 * `spirit agent ensure` only starts the daemon (see {@linkcode ensureDaemon}): a controller that
 * can reach the socket itself (over SSH, a forward through its master connection) needs no relay.
 * @module
 */
import { spiritCliPath } from "../common/spirit_cli.ts";
import { socketAlive, socketPath } from "./daemon.ts";

/** Options of {@link runSession}. */
export interface SessionOptions {
  stateDir: string;
  /** Start the daemon when none answers (default true). */
  autostart?: boolean;
  /** Extra `spirit agent daemon` flags used when starting it (swap devices, interval). */
  daemonArgs?: string[];
  /** Longest wait for a started daemon to accept connections (default 20 s). */
  startTimeoutMs?: number;
}

/** The argv that starts a detached daemon for `stateDir` (pure). */
export function daemonArgv(stateDir: string, extra: readonly string[] = []): string[] {
  const cli = spiritCliPath();
  return [
    Deno.execPath(),
    "run",
    "-A",
    cli,
    "agent",
    "daemon",
    "--state-dir",
    stateDir,
    "--log-file",
    `${stateDir}/daemon.log`,
    ...extra,
  ];
}

/**
 * Makes sure a daemon listens on the state directory's socket, starting it if allowed and
 * needed; returns the socket's path.
 */
export async function ensureDaemon(options: SessionOptions): Promise<string> {
  const path = socketPath(options.stateDir);
  if (!(await socketAlive(path))) {
    if (options.autostart === false) {
      throw new Error(
        `No agent daemon is listening on ${path} (start one with: spirit agent daemon)`,
      );
    }
    await startDetachedDaemon(options);
  }
  return path;
}

/** Connects to the daemon, starting it if allowed and needed. */
export async function connectToDaemon(options: SessionOptions): Promise<Deno.UnixConn> {
  return await Deno.connect({ transport: "unix", path: await ensureDaemon(options) });
}

async function startDetachedDaemon(options: SessionOptions): Promise<void> {
  await Deno.mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  const [program, ...args] = daemonArgv(options.stateDir, options.daemonArgs);
  if (program === undefined) throw new Error("Empty daemon argv");
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  child.unref();
  const state: { exited: Deno.CommandStatus | null } = { exited: null };
  child.status.then((status) => state.exited = status);
  const path = socketPath(options.stateDir);
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  while (!(await socketAlive(path))) {
    if (state.exited !== null || Date.now() > deadline) {
      const log = await Deno.readTextFile(`${options.stateDir}/daemon.log`).catch((error) =>
        error instanceof Deno.errors.NotFound
          ? "(no daemon.log written)"
          : `(cannot read daemon.log: ${error})`
      );
      const why = state.exited === null
        ? "did not start listening in time"
        : `exited with code ${state.exited.code}`;
      throw new Error(
        `The agent daemon ${why}; ${options.stateDir}/daemon.log ends with:\n${log.slice(-2000)}`,
      );
    }
    // Waiting for an observable signal: the socket accepting a connection.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Relays stdin to the daemon and the daemon's lines to stdout until either side closes.
 * Returns the exit status for the session process.
 */
export async function runSession(options: SessionOptions): Promise<number> {
  let conn: Deno.UnixConn;
  try {
    conn = await connectToDaemon(options);
  } catch (error) {
    console.error(`spirit agent: ${(error as Error).message}`);
    return 1;
  }
  const upstream = (async () => {
    try {
      for await (const chunk of Deno.stdin.readable) {
        let written = 0;
        while (written < chunk.length) written += await conn.write(chunk.subarray(written));
      }
      await conn.closeWrite();
    } catch (error) {
      if (!(error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.BadResource)) {
        throw error;
      }
    }
  })();
  try {
    await conn.readable.pipeTo(Deno.stdout.writable, { preventClose: true });
  } catch (error) {
    if (
      !(error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset)
    ) throw error;
  }
  // The daemon closed the connection (EOF on our side, or shutdown): leave at once even if stdin
  // is still open.
  void upstream;
  return 0;
}
