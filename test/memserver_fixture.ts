/**
 * Test fixture: a `spirit memserver` child process on loopback (port 0), token files, and the
 * resident memory of a process.
 * @module
 */
import { type MemserverProcess, spawnMemserver } from "../memserver/spawn.ts";

/** A running memory server child. */
export type MemserverChild = MemserverProcess;

/** Starts `spirit memserver` on loopback (port 0) and waits for its ready line. */
export function startMemserver(
  options: { capacity?: string; tokenFile?: string; extraArgs?: string[] } = {},
): Promise<MemserverChild> {
  return spawnMemserver(options);
}

/** Writes a token file in a fresh temporary directory; returns its path and the token. */
export async function makeTokenFile(): Promise<{ path: string; token: Uint8Array; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "spirit-memserver-" });
  const text = crypto.randomUUID();
  const path = `${dir}/token`;
  await Deno.writeTextFile(path, text + "\n");
  return { path, token: new TextEncoder().encode(text), dir };
}

/** Resident set size of a process in bytes (from /proc). */
export async function residentBytes(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kib === undefined) throw new Error(`No VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}
