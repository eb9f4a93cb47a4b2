/**
 * Runs a started process to completion for `Connector.exec`: feeds stdin, streams and collects
 * stdout and stderr, enforces the timeout and the abort signal, and checks the exit code.
 * Shared by the local and SSH connectors.
 * @module
 */
import { concatBytes } from "../../common/lines.ts";
import { ExecTimeoutError, RemoteCommandError } from "./errors.ts";
import type { ExecOptions, ExecResult, RemoteProcess } from "./types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function drain(
  stream: ReadableStream<Uint8Array>,
  onChunk: ((chunk: Uint8Array) => void) | undefined,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    onChunk?.(chunk);
  }
  return concatBytes(chunks);
}

async function feed(
  stdin: WritableStream<Uint8Array>,
  data: ExecOptions["stdin"],
): Promise<void> {
  try {
    if (data instanceof ReadableStream) {
      await data.pipeTo(stdin);
      return;
    }
    const writer = stdin.getWriter();
    if (data !== undefined) {
      await writer.write(typeof data === "string" ? encoder.encode(data) : data);
    }
    await writer.close();
  } catch (error) {
    // A command that exits without reading all of its stdin closes the pipe: not an error of
    // the command (its exit code tells), anything else is.
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}

/**
 * Completes `proc` (already started from `argv` on `host`) according to `options`.
 * @throws {RemoteCommandError} on a non-zero exit when `check` is not false.
 * @throws {ExecTimeoutError} when `timeoutMs` passes first.
 */
export async function completeExec(
  proc: RemoteProcess,
  options: ExecOptions & { host: string; argv: readonly string[] },
): Promise<ExecResult> {
  const { host, argv, timeoutMs, signal } = options;
  let timedOut = false;
  let killing: Promise<void> | undefined;
  const kill = () => {
    killing ??= proc.kill("SIGKILL");
  };
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    kill();
  }, timeoutMs);
  signal?.addEventListener("abort", kill, { once: true });
  if (signal?.aborted) kill();
  try {
    const [stdout, stderr, status] = await Promise.all([
      drain(proc.stdout, options.onStdout),
      drain(proc.stderr, options.onStderr),
      proc.status,
      feed(proc.stdin, options.stdin),
    ]);
    await killing;
    if (timedOut) throw new ExecTimeoutError({ host, argv, timeoutMs: timeoutMs ?? 0 });
    if (signal?.aborted) throw signal.reason;
    const result = {
      code: status.code,
      stdout: decoder.decode(stdout),
      stderr: decoder.decode(stderr),
      stdoutBytes: stdout,
    };
    if (options.check !== false && status.code !== 0) {
      throw new RemoteCommandError({ host, argv, code: status.code, stderr: result.stderr });
    }
    return result;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", kill);
  }
}
