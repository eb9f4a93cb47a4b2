/**
 * The OpenSSH connector: the system `ssh` client with one multiplexed master connection per
 * host (ControlMaster, socket in a private directory), strict host-key checking by default,
 * connect timeouts, batch mode, and bounded retries with exponential backoff for connection
 * failures only. Commands are argv arrays, quoted once by shell_quote.ts. Remote processes
 * report their pid first, so timeouts, aborts and `kill` reach the process on the host.
 * @module
 */
import type { SshTarget } from "../playbook/types.ts";
import {
  ExecTimeoutError,
  ForwardRefusedError,
  RemoteCommandError,
  SshConnectionError,
} from "./errors.ts";
import type { Limiter } from "./limit.ts";
import { completeExec } from "./exec_io.ts";
import { quoteArgv } from "./shell_quote.ts";
import { classifySshFailure, sshArgs } from "./ssh_args.ts";
import { terminateMaster } from "./ssh_mux.ts";
import type {
  Connector,
  ExecOptions,
  ExecResult,
  ProcessStatus,
  PutOptions,
  RemoteProcess,
  SpawnOptions,
} from "./types.ts";

/** Options of {@linkcode SshConnector}. */
export interface SshConnectorOptions {
  /** Directory for the ControlMaster socket; absent: a private temporary directory. */
  controlDir?: string;
  /** Attempts for a connection failure (exit 255 with a transient reason); default 4. */
  attempts?: number;
  /** First backoff delay in ms, doubled after each failure (default 200). */
  backoffMs?: number;
  /** The ssh program (default "ssh"). */
  sshPath?: string;
  /** Seconds the master connection outlives its last session (default 60). */
  controlPersistSec?: number;
  /**
   * Shared by the connectors of a run: each connection attempt, command (for its whole run)
   * and process start (until it runs) takes a slot, so at most `limiter.max` happen at once.
   */
  limiter?: Limiter;
}

// The remote wrapper: report the shell's pid (which `exec` hands to the program), optionally
// change directory and set variables, then become the program.
const WRAPPER = 'cd -- "$1" || exit 127; shift; printf "spirit-pid:%s\\n" "$$"; exec "$@"';

/** Runs commands on one host over OpenSSH. */
export class SshConnector implements Connector {
  /** The host's name, for messages. */
  readonly host: string;
  readonly #target: SshTarget;
  readonly #options: SshConnectorOptions;
  #controlDir: string | undefined;
  #ownsControlDir = false;
  #closed = false;
  #master: Promise<void> | undefined;
  readonly #socketName = `m-${crypto.randomUUID().slice(0, 8)}`;
  readonly #failedAttempts: string[] = [];

  /** A connector for `target`, named `host` in messages. Connects lazily. */
  constructor(host: string, target: SshTarget, options: SshConnectorOptions = {}) {
    this.host = host;
    this.#target = target;
    this.#options = options;
    this.#controlDir = options.controlDir;
  }

  async #baseArgs(): Promise<string[]> {
    if (this.#closed) throw new Error(`The ssh connector for host "${this.host}" is closed`);
    if (this.#controlDir === undefined) {
      this.#controlDir = await Deno.makeTempDir({ prefix: "spirit-ssh-" });
      await Deno.chmod(this.#controlDir, 0o700);
      this.#ownsControlDir = true;
    }
    return sshArgs(this.#target, {
      controlPath: this.#controlPath(this.#controlDir),
      ...(this.#options.controlPersistSec === undefined
        ? {}
        : { controlPersistSec: this.#options.controlPersistSec }),
    });
  }

  /** Connection attempts that failed and were retried (see Connector.failedAttempts). */
  get failedAttempts(): readonly string[] {
    return this.#failedAttempts;
  }

  /** The master's socket: a name of this connector's own (the directory may be shared). */
  #controlPath(dir: string): string {
    return `${dir}/${this.#socketName}`;
  }

  /**
   * Opens (or checks) the master connection, retrying connection failures with backoff.
   * @throws {SshConnectionError} when the host cannot be reached.
   */
  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#limited(() => this.#connect(options));
    this.#master ??= Promise.resolve();
  }

  /** Runs `action` in a slot of the shared limiter (at once without one). */
  #limited<T>(action: () => Promise<T>): Promise<T> {
    return this.#options.limiter === undefined ? action() : this.#options.limiter.run(action);
  }

  async #connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#withRetries(async () => {
      // -N: no session, hence no remote shell; with ControlPersist the master goes to the
      // background once authenticated and this returns.
      const out = await this.#openMaster(options.signal);
      return { code: out.code, stderr: out.stderr, started: out.code !== 255, value: undefined };
    });
  }

  async #openMaster(signal: AbortSignal | undefined): Promise<{ code: number; stderr: string }> {
    const args = [...(await this.#baseArgs()), "-N", "--", this.#target.host];
    const out = await new Deno.Command(this.#options.sshPath ?? "ssh", {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      ...(signal === undefined ? {} : { signal }),
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  }

  async #withRetries<T>(
    attempt: () => Promise<{ code: number; stderr: string; started: boolean; value: T }>,
  ): Promise<T> {
    const attempts = Math.max(1, this.#options.attempts ?? 4);
    let delay = this.#options.backoffMs ?? 200;
    for (let i = 1;; i++) {
      const result = await attempt();
      if (result.started || result.code !== 255) return result.value;
      const kind = classifySshFailure(result.stderr);
      if (kind === "permanent" || i >= attempts) {
        throw new SshConnectionError({
          host: this.host,
          attempts: i,
          stderr: result.stderr,
          transient: kind !== "permanent",
        });
      }
      const said = result.stderr.trim().split("\n").at(-1)?.trim() ?? "";
      this.#failedAttempts.push(said === "" ? `ssh exited with 255` : said.slice(0, 200));
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
  }

  /**
   * Waits until a master connection is up: the first command of the connector opens it (with
   * ControlMaster=auto its ssh starts the master and runs as its first session, saving a
   * connection round and a remote shell per host); commands started meanwhile wait for it.
   * Returns null when the caller is that first command, else after the master is up (a failed
   * first connection resets this, so the next command opens it).
   */
  async #masterOrFirst(): Promise<{ opened: () => void; failed: (error: unknown) => void } | null> {
    if (this.#master !== undefined) {
      await this.#master;
      return null;
    }
    let opened = () => {};
    let failed: (error: unknown) => void = () => {};
    const master = new Promise<void>((resolve, reject) => {
      opened = resolve;
      failed = reject;
    });
    master.catch(() => undefined); // the waiters see it; nobody may be waiting
    this.#master = master;
    return {
      opened,
      failed: (error) => {
        if (this.#master === master) this.#master = undefined;
        failed(error);
      },
    };
  }

  /** Starts argv on the host; resolves once it runs there (its pid is known). */
  spawn(argv: readonly string[], options: SpawnOptions = {}): Promise<RemoteProcess> {
    return this.#limited(() => this.#spawnStarted(argv, options));
  }

  async #spawnStarted(argv: readonly string[], options: SpawnOptions): Promise<RemoteProcess> {
    const first = await this.#masterOrFirst();
    try {
      const process = await this.#startWithRetries(argv, options);
      first?.opened();
      return process;
    } catch (error) {
      // A command that failed on the host went through a working connection.
      if (error instanceof RemoteCommandError) first?.opened();
      else first?.failed(error);
      throw error;
    }
  }

  async #startWithRetries(argv: readonly string[], options: SpawnOptions): Promise<RemoteProcess> {
    return await this.#withRetries(async () => {
      const started = await this.#start(argv, options);
      if (started.pid !== null) {
        return { code: 0, stderr: "", started: true, value: started.process };
      }
      // ssh exited before the command started: collect why, then retry or fail.
      const [stderr, status] = await Promise.all([
        new Response(started.process.stderr).text(),
        started.process.status,
        // ssh is gone, so its stdin may already be closed: nothing to report about that.
        started.process.stdin.close().catch(() => undefined),
        started.process.stdout.cancel(),
      ]);
      if (status.code !== 255) {
        throw new RemoteCommandError({ host: this.host, argv, code: status.code, stderr });
      }
      return { code: 255, stderr, started: false, value: started.process };
    });
  }

  async #start(
    argv: readonly string[],
    options: SpawnOptions,
  ): Promise<{ pid: number | null; process: RemoteProcess }> {
    if (argv.length === 0) throw new TypeError("Cannot run an empty argv");
    const envWords = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const remote = quoteArgv([
      "sh",
      "-c",
      WRAPPER,
      "spirit",
      options.cwd ?? ".",
      ...(envWords.length > 0 ? ["env", "--", ...envWords] : []),
      ...argv,
    ]);
    const child = new Deno.Command(this.#options.sshPath ?? "ssh", {
      args: [...(await this.#baseArgs()), "--", this.#target.host, remote],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const status: Promise<ProcessStatus> = child.status.then((s) => ({
      code: s.code,
      signal: s.signal,
    }));
    let exited = false;
    status.then(() => exited = true);
    const { pid, rest } = splitPidLine(child.stdout);
    const remotePid = await pid;
    const kill = async (sig: Deno.Signal = "SIGTERM") => {
      if (exited) return;
      if (remotePid !== null) {
        const name = sig.replace(/^SIG/, "");
        try {
          await this.exec(["kill", `-${name}`, String(remotePid)], {
            timeoutMs: 5000,
            check: false,
          });
        } catch (error) {
          // The host is unreachable: ending the local ssh client is all that is left to do.
          if (!(error instanceof SshConnectionError || error instanceof ExecTimeoutError)) {
            throw error;
          }
        }
      }
      if (!exited && (sig === "SIGKILL" || remotePid === null)) {
        try {
          child.kill("SIGKILL");
        } catch (error) {
          // The ssh client exited between the check and the kill: nothing left to signal.
          if (!(error instanceof TypeError)) throw error;
        }
      }
    };
    const signal = options.signal;
    const onAbort = () => void kill("SIGKILL");
    signal?.addEventListener("abort", onAbort, { once: true });
    status.then(() => signal?.removeEventListener("abort", onAbort));
    return {
      pid: remotePid,
      process: { stdin: child.stdin, stdout: rest, stderr: child.stderr, status, kill },
    };
  }

  /**
   * Runs argv on the host to completion. Connection failures before the command starts are
   * retried with backoff (stdin is only fed once the command runs, so streams are safe too).
   */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const spawnOptions = {
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    };
    return this.#limited(async () => {
      const proc = await this.#spawnStarted(argv, spawnOptions);
      return await completeExec(proc, { ...options, host: this.host, argv });
    });
  }

  /**
   * A connection to the Unix socket `remotePath` on the host through the master connection:
   * `ssh -O forward -L LOCAL:REMOTE` makes the master listen on LOCAL, a socket in the private
   * control directory, for just the one connection made here; the forward is cancelled and
   * LOCAL removed at once (the connection stays). Costs two short ssh client processes and no
   * process on the host. sshd opens the remote socket as the SSH user; when it refuses, the
   * stream ends before any byte.
   * @throws {ForwardRefusedError} naming ssh's reason when the master refuses the forward.
   */
  connectUnixSocket(remotePath: string): Promise<Deno.Conn> {
    return this.#limited(async () => {
      const first = await this.#masterOrFirst();
      if (first !== null) {
        try {
          await this.#connect();
        } catch (error) {
          first.failed(error);
          throw error;
        }
        first.opened();
      }
      const local = `${this.#controlDir}/fwd-${crypto.randomUUID().slice(0, 12)}.sock`;
      const spec = `${local}:${remotePath}`;
      const forward = await this.#control(["-O", "forward", "-L", spec]);
      if (forward.code !== 0) {
        throw new ForwardRefusedError(
          `ssh on host "${this.host}" refused to forward ${remotePath}: ${forward.stderr.trim()}`,
        );
      }
      try {
        return await Deno.connect({ transport: "unix", path: local });
      } finally {
        await this.#control(["-O", "cancel", "-L", spec]);
        await Deno.remove(local).catch((error) => {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        });
      }
    });
  }

  /** Runs a control command (`-O ...`) against the master connection. */
  async #control(args: string[]): Promise<{ code: number; stderr: string }> {
    const out = await new Deno.Command(this.#options.sshPath ?? "ssh", {
      args: [...(await this.#baseArgs()), ...args, "--", this.#target.host],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  }

  /** Copies a local file to the host atomically (a temporary file renamed into place). */
  async put(localPath: string, remotePath: string, options: PutOptions = {}): Promise<void> {
    const mode = (options.mode ?? 0o644).toString(8);
    const script = 'set -e; mkdir -p -- "$(dirname -- "$1")"; ' +
      'tmp=$(mktemp -- "$1.spirit-XXXXXX"); trap \'rm -f -- "$tmp"\' EXIT; ' +
      'cat > "$tmp"; chmod "$2" "$tmp"; mv -f -- "$tmp" "$1"; trap - EXIT';
    const file = await Deno.open(localPath, { read: true });
    await this.exec(["sh", "-c", script, "spirit-put", remotePath, mode], {
      stdin: file.readable,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  /** Copies a file from the host to `localPath` (written to a temporary file, then renamed). */
  async get(
    remotePath: string,
    localPath: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const argv = ["cat", "--", remotePath];
    const proc = await this.spawn(
      argv,
      options.signal === undefined ? {} : { signal: options.signal },
    );
    const temp = `${localPath}.spirit-${crypto.randomUUID().slice(0, 8)}`;
    const file = await Deno.open(temp, { write: true, create: true, truncate: true });
    try {
      const [, stderr, status] = await Promise.all([
        proc.stdout.pipeTo(file.writable),
        new Response(proc.stderr).text(),
        proc.status,
        proc.stdin.close(),
      ]);
      if (status.code !== 0) {
        throw new RemoteCommandError({ host: this.host, argv, code: status.code, stderr });
      }
      await Deno.rename(temp, localPath);
    } catch (error) {
      // The temporary file may already be gone; the transfer error is what matters.
      await Deno.remove(temp).catch(() => undefined);
      throw error;
    }
  }

  /** Closes the master connection and removes the private control directory; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    const dir = this.#controlDir;
    if (dir !== undefined) {
      // Told over its socket (no ssh client to start); `ssh -O exit` if that fails otherwise
      // than by no master listening (never connected, or already gone).
      const told = await terminateMaster(this.#controlPath(dir)).catch(() => null);
      if (told === null) await this.#control(["-O", "exit"]);
      if (this.#ownsControlDir) await Deno.remove(dir, { recursive: true });
    }
    this.#closed = true;
  }

  /** Same as `close`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

const PID_LINE = /^spirit-pid:([0-9]+)$/;

/**
 * Splits the remote stdout into the wrapper's `spirit-pid:N` line and the program's output.
 * Lines before the pid line (noise from the remote shell's startup files) are dropped. `pid`
 * resolves to null when the stream ends without a pid line (the command never started).
 */
export function splitPidLine(
  stream: ReadableStream<Uint8Array>,
): { pid: Promise<number | null>; rest: ReadableStream<Uint8Array> } {
  let resolvePid: (pid: number | null) => void = () => {};
  const pid = new Promise<number | null>((resolve) => resolvePid = resolve);
  let buffered = new Uint8Array(0);
  let found = false;
  const rest = stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>(
      {
        transform(chunk, controller) {
          if (found) {
            controller.enqueue(chunk);
            return;
          }
          let joined = new Uint8Array(buffered.length + chunk.length);
          joined.set(buffered);
          joined.set(chunk, buffered.length);
          for (let newline = joined.indexOf(10); newline >= 0; newline = joined.indexOf(10)) {
            const line = new TextDecoder().decode(joined.subarray(0, newline));
            joined = joined.subarray(newline + 1);
            const match = PID_LINE.exec(line);
            if (match !== null) {
              found = true;
              resolvePid(Number(match[1]));
              if (joined.length > 0) controller.enqueue(joined);
              return;
            }
          }
          buffered = joined;
        },
        flush() {
          if (!found) resolvePid(null);
        },
      },
      undefined,
      { highWaterMark: 4 },
    ),
  );
  return { pid, rest };
}
