/**
 * Errors of connectors: a failing command names the host, the argv, the exit code and the tail
 * of its stderr.
 * @module
 */

/** How many bytes of stderr an error keeps (the end, where the reason usually is). */
export const STDERR_TAIL_BYTES = 2048;

/** The last `STDERR_TAIL_BYTES` of stderr, trimmed. */
export function stderrTail(stderr: string): string {
  const trimmed = stderr.trimEnd();
  return trimmed.length > STDERR_TAIL_BYTES
    ? `...${trimmed.slice(trimmed.length - STDERR_TAIL_BYTES)}`
    : trimmed;
}

function describe(argv: readonly string[]): string {
  return JSON.stringify(argv);
}

/** A command ran on a host and exited non-zero. */
export class RemoteCommandError extends Error {
  override name = "RemoteCommandError";
  readonly host: string;
  readonly argv: readonly string[];
  readonly code: number;
  readonly stderrTail: string;

  /** Builds the error from the command's outcome. */
  constructor(fields: { host: string; argv: readonly string[]; code: number; stderr: string }) {
    const tail = stderrTail(fields.stderr);
    super(
      `Command ${
        describe(fields.argv)
      } failed on host "${fields.host}" with exit code ${fields.code}` +
        (tail === "" ? " (no stderr)" : `:\n${tail}`),
    );
    this.host = fields.host;
    this.argv = fields.argv;
    this.code = fields.code;
    this.stderrTail = tail;
  }
}

/** A command on a host did not finish within its timeout and was killed. */
export class ExecTimeoutError extends Error {
  override name = "ExecTimeoutError";
  readonly host: string;
  readonly argv: readonly string[];
  readonly timeoutMs: number;

  /** Builds the error. */
  constructor(fields: { host: string; argv: readonly string[]; timeoutMs: number }) {
    super(
      `Command ${
        describe(fields.argv)
      } on host "${fields.host}" timed out after ${fields.timeoutMs}ms`,
    );
    this.host = fields.host;
    this.argv = fields.argv;
    this.timeoutMs = fields.timeoutMs;
  }
}

/** ssh could not connect (or authenticate) to a host. */
export class SshConnectionError extends Error {
  override name = "SshConnectionError";
  readonly host: string;
  readonly attempts: number;
  readonly stderrTail: string;
  /** False for failures that retrying cannot fix (host key mismatch, authentication). */
  readonly transient: boolean;

  /** Builds the error. */
  constructor(
    fields: { host: string; attempts: number; stderr: string; transient: boolean },
    options?: ErrorOptions,
  ) {
    const tail = stderrTail(fields.stderr);
    super(
      `Cannot connect to host "${fields.host}" over ssh (${fields.attempts} attempt${
        fields.attempts === 1 ? "" : "s"
      }): ${tail === "" ? "ssh exited with status 255" : tail}${hint(tail)}`,
      options,
    );
    this.host = fields.host;
    this.attempts = fields.attempts;
    this.stderrTail = tail;
    this.transient = fields.transient;
  }
}

function hint(stderr: string): string {
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
    return "\nhint: add the host's key to the known-hosts file (ssh.knownHostsFile), or set " +
      'ssh.strictHostKeyChecking: "accept-new" to record it on first contact';
  }
  if (/Permission denied/.test(stderr)) {
    return "\nhint: ssh runs in batch mode (no passwords): set ssh.identityFile or load the key " +
      "into ssh-agent";
  }
  return "";
}

/** The connector could not set up a forward to a socket on the host (ssh's reason inside). */
export class ForwardRefusedError extends Error {
  override name = "ForwardRefusedError";
}
