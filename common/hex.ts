/**
 * Hex encoding of bytes (pure).
 * @module
 */

/** Lower-case hex of `bytes`. */
export function encodeHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
