/**
 * A run's names and secrets: the run id (which names its files on every host) and the memory
 * servers' token.
 * @module
 */
import { encodeHex } from "./hex.ts";

/** `<playbook>-<UTC yyyymmdd-hhmmss>-<6 random hex digits>`. */
export function newRunId(playbookName: string, wallTimeMs: number): string {
  const stamp = new Date(wallTimeMs).toISOString().replace(/[-:]/g, "").replace(/\..*$/, "")
    .replace("T", "-");
  return `${playbookName}-${stamp}-${encodeHex(crypto.getRandomValues(new Uint8Array(3)))}`;
}

/** A fresh random secret (64 hex digits) for the memory servers of one run. */
export function newSecret(): string {
  return encodeHex(crypto.getRandomValues(new Uint8Array(32)));
}
