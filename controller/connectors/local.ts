/**
 * The local connector: runs commands on this machine as child processes (no shell, no SSH).
 * @module
 */
import { dirname } from "node:path";
import { RemoteCommandError } from "./errors.ts";
import { completeExec } from "./exec_io.ts";
import type {
  Connector,
  ExecOptions,
  ExecResult,
  ProcessStatus,
  PutOptions,
  RemoteProcess,
  SpawnOptions,
} from "./types.ts";

/** Runs commands on this machine. */
export class LocalConnector implements Connector {
  /** The host's name, for messages. */
  readonly host: string;

  /** A connector for this machine, named `host` in messages. */
  constructor(host = "localhost") {
    this.host = host;
  }

  /** Runs argv to completion. */
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const proc = await this.spawn(argv, {
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    return await completeExec(proc, { ...options, host: this.host, argv });
  }

  /** Starts argv with piped stdio; a missing program fails like a shell would (code 127). */
  spawn(argv: readonly string[], options: SpawnOptions = {}): Promise<RemoteProcess> {
    const [program, ...args] = argv;
    if (program === undefined) throw new TypeError("Cannot run an empty argv");
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(program, {
        args,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        ...(options.env === undefined ? {} : { env: options.env }),
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new RemoteCommandError({
          host: this.host,
          argv,
          code: 127,
          stderr: `${program}: command not found${
            options.cwd ? ` (or no directory ${options.cwd})` : ""
          }`,
        });
      }
      throw error;
    }
    const status: Promise<ProcessStatus> = child.status.then((s) => ({
      code: s.code,
      signal: s.signal,
    }));
    let exited = false;
    status.then(() => exited = true);
    const signal = options.signal;
    const onAbort = () => {
      if (!exited) child.kill("SIGKILL");
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    status.then(() => signal?.removeEventListener("abort", onAbort));
    return Promise.resolve({
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      status,
      kill: (sig: Deno.Signal = "SIGTERM") => {
        if (!exited) {
          try {
            child.kill(sig);
          } catch (error) {
            // The child exited between the check and the kill: nothing left to signal.
            if (!(error instanceof TypeError)) throw error;
          }
        }
        return Promise.resolve();
      },
    });
  }

  /** Copies a local file to `remotePath` on this machine, atomically. */
  async put(localPath: string, remotePath: string, options: PutOptions = {}): Promise<void> {
    await Deno.mkdir(dirname(remotePath), { recursive: true });
    const temp = `${remotePath}.spirit-${crypto.randomUUID().slice(0, 8)}`;
    try {
      await Deno.copyFile(localPath, temp);
      await Deno.chmod(temp, options.mode ?? 0o644);
      await Deno.rename(temp, remotePath);
    } catch (error) {
      // The temporary file may not exist (the copy failed first); the copy error is what matters.
      await Deno.remove(temp).catch(() => undefined);
      throw error;
    }
  }

  /** Copies `remotePath` on this machine to `localPath`. */
  async get(remotePath: string, localPath: string): Promise<void> {
    await Deno.copyFile(remotePath, localPath);
  }

  /** Nothing to release; idempotent. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Same as `close`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
