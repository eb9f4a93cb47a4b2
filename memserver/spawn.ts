/**
 * Starts `spirit memserver` as a child process (memserver/main.ts) and waits for its ready line;
 * used by the benchmark and the system tests.
 * @module
 */
import { readLines as lines } from "../common/lines.ts";
import type { MemserverReady } from "./command.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

/** A running memory server child. */
export interface MemserverProcess {
  readonly ready: MemserverReady;
  readonly hostname: string;
  readonly port: number;
  readonly pid: number;
  /** Sends SIGTERM and waits; returns the exit code and the stdout lines after the ready line. */
  stop(): Promise<{ code: number; lines: string[] }>;
}

/** Starts a memory server on 127.0.0.1 (port 0 unless `listen` says otherwise). */
export async function spawnMemserver(
  options: { capacity?: string; tokenFile?: string; listen?: string; extraArgs?: string[] } = {},
): Promise<MemserverProcess> {
  const args = [
    "run",
    "-A",
    MAIN,
    "--listen",
    options.listen ?? "127.0.0.1:0",
    "--capacity",
    options.capacity ?? "64MiB",
    ...(options.tokenFile === undefined ? [] : ["--token-file", options.tokenFile]),
    ...(options.extraArgs ?? []),
  ];
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" })
    .spawn();
  const stdout = lines(child.stdout);
  const first = await stdout.next();
  if (first.done) {
    const status = await child.status;
    throw new Error(`memserver exited with status ${status.code} before its ready line`);
  }
  const ready = JSON.parse(first.value) as MemserverReady;
  return {
    ready,
    hostname: ready.hostname,
    port: ready.port,
    pid: ready.pid,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch (error) {
        if (!(error instanceof TypeError)) throw error;
      }
      const rest: string[] = [];
      for await (const line of stdout) rest.push(line);
      const status = await child.status;
      return { code: status.code, lines: rest };
    },
  };
}
