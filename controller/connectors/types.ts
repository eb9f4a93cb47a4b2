/**
 * The connector interface: how the controller runs commands and moves files on a host,
 * the same for this machine (local.ts) and for OpenSSH (ssh.ts). argv arrays only.
 * @module
 */

/** Options of `Connector.exec`. */
export interface ExecOptions {
  /**
   * Written to the command's stdin, then closed; absent: stdin is empty. Over SSH, bytes and
   * text are replayed when a connection failure is retried; a stream is not.
   */
  stdin?: Uint8Array | string | ReadableStream<Uint8Array>;
  /** Kill the command after this many ms (then `ExecTimeoutError`). */
  timeoutMs?: number;
  /** Abort kills the command (then the signal's reason is thrown). */
  signal?: AbortSignal;
  /** Environment variables added for the command. */
  env?: Record<string, string>;
  /** Working directory on the host. */
  cwd?: string;
  /** Called with each stdout chunk as it arrives (the result still holds all of stdout). */
  onStdout?: (chunk: Uint8Array) => void;
  /** Called with each stderr chunk as it arrives. */
  onStderr?: (chunk: Uint8Array) => void;
  /** Throw `RemoteCommandError` on a non-zero exit (default true). */
  check?: boolean;
}

/** What a finished command produced. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Uint8Array;
}

/** Options of `Connector.spawn`. */
export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Abort kills the process. */
  signal?: AbortSignal;
}

/** Exit status of a spawned process. */
export interface ProcessStatus {
  code: number;
  /** The signal that ended the local end (ssh client or local child), if any. */
  signal: Deno.Signal | null;
}

/** A long-lived process on a host with piped stdio (e.g. an agent speaking JSON lines). */
export interface RemoteProcess {
  readonly stdin: WritableStream<Uint8Array>;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** Resolves when the process (and, over SSH, the ssh client) has exited. */
  readonly status: Promise<ProcessStatus>;
  /** Sends `signal` (default SIGTERM) to the process on its host. */
  kill(signal?: Deno.Signal): Promise<void>;
}

/** Options of `Connector.put`. */
export interface PutOptions {
  /** File mode of the written file (default 0o644). */
  mode?: number;
  signal?: AbortSignal;
}

/** How the controller reaches one host. */
export interface Connector extends AsyncDisposable {
  /** The host's name, for messages (the playbook's host key). */
  readonly host: string;
  /** Runs argv to completion. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Starts argv with piped stdin, stdout and stderr. */
  spawn(argv: readonly string[], options?: SpawnOptions): Promise<RemoteProcess>;
  /**
   * Optional: a byte stream to the Unix socket `path` on the host without a process in between
   * (over SSH, a connection forwarded through the master connection). Rejects with
   * `ForwardRefusedError` when the forward cannot be set up; a host that refuses it (sshd's
   * `AllowStreamLocalForwarding no`, or no such socket) closes the stream at once.
   */
  connectUnixSocket?(path: string): Promise<Deno.Conn>;
  /** Copies a local file to `remotePath` atomically (parent directories created). */
  put(localPath: string, remotePath: string, options?: PutOptions): Promise<void>;
  /** Copies `remotePath` to a local file. */
  get(remotePath: string, localPath: string, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Optional: the connection attempts that failed and were retried so far, oldest first, each
   * named by the last line the client printed (a check reports them: a slow or flaky link).
   */
  readonly failedAttempts?: readonly string[];
  /** Releases connections; idempotent. */
  close(): Promise<void>;
}
