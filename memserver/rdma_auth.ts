/**
 * Proofs of the per-run secret in RDMA CM private data, and the replay guard. Pure code (no
 * I/O; the clock is passed in).
 *
 * A proof is HMAC-SHA-256 keyed with the secret, cut to 16 bytes, over a label that names its
 * direction, so a client's proof never passes as the server's:
 * - the client's: `"spirit-rdma-connect-v1\0" || u16 port (big-endian) || record[0..32]`;
 * - the server's: `"spirit-rdma-accept-v1\0" || the client's whole record || region record`.
 * See docs/rdma.md ("Authentication") for the threat model.
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import {
  CONNECT_RECORD_BYTES,
  CONNECT_SIGNED_BYTES,
  type ConnectFields,
  encodeConnectHeader,
  PROOF_BYTES,
} from "./rdma_private_data.ts";

/** How far a client's clock may be from the server's, either way (ms). */
export const AUTH_WINDOW_MS = 30_000;

const CONNECT_LABEL = new TextEncoder().encode("spirit-rdma-connect-v1\0");
const ACCEPT_LABEL = new TextEncoder().encode("spirit-rdma-accept-v1\0");

function proof(secret: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  const hmac = createHmac("sha256", secret);
  for (const part of parts) hmac.update(part);
  return new Uint8Array(hmac.digest().subarray(0, PROOF_BYTES));
}

function portBytes(port: number): Uint8Array {
  return Uint8Array.of(port >> 8, port & 0xff);
}

function equalProofs(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === PROOF_BYTES && b.length === PROOF_BYTES && timingSafeEqual(a, b);
}

/**
 * The client's 48-byte connect record for a server listening on `port`, with its proof.
 * @example signConnectRecord(secret, { port: 7471, sizeBytes: 1n << 30n, timestampMs: BigInt(Date.now()), nonce })
 */
export function signConnectRecord(
  secret: Uint8Array,
  request: ConnectFields & { readonly port: number },
): Uint8Array {
  const header = encodeConnectHeader(request);
  const record = new Uint8Array(CONNECT_RECORD_BYTES);
  record.set(header);
  record.set(proof(secret, [CONNECT_LABEL, portBytes(request.port), header]), CONNECT_SIGNED_BYTES);
  return record;
}

/** True when `record` carries a valid client proof for `port` (constant-time comparison). */
export function verifyConnectRecord(secret: Uint8Array, port: number, record: Uint8Array): boolean {
  if (record.length < CONNECT_RECORD_BYTES) return false;
  const expected = proof(secret, [
    CONNECT_LABEL,
    portBytes(port),
    record.subarray(0, CONNECT_SIGNED_BYTES),
  ]);
  return equalProofs(expected, record.subarray(CONNECT_SIGNED_BYTES, CONNECT_RECORD_BYTES));
}

/** The server's proof for accepting `connectRecord` with the region record `regionBytes`. */
export function acceptProof(
  secret: Uint8Array,
  connectRecord: Uint8Array,
  regionBytes: Uint8Array,
): Uint8Array {
  return proof(secret, [ACCEPT_LABEL, connectRecord, regionBytes]);
}

/** True when `presented` is the server's proof for this exchange (constant-time comparison). */
export function verifyAcceptProof(
  secret: Uint8Array,
  exchange: { connectRecord: Uint8Array; regionBytes: Uint8Array; presented: Uint8Array },
): boolean {
  return equalProofs(
    acceptProof(secret, exchange.connectRecord, exchange.regionBytes),
    exchange.presented,
  );
}

/** What the replay guard says about a record. */
export type Freshness =
  | { readonly fresh: true }
  | {
    readonly fresh: false;
    readonly reason: "stale" | "replayed" | "busy";
    readonly detail: string;
  };

/**
 * Refuses records whose timestamp is more than `windowMs` from the server's clock, and records
 * seen before within that window (by nonce). A nonce is remembered until its record would be
 * stale anyway, so memory stays bounded by the rate of valid connects; past `maxEntries` live
 * nonces new records are refused ("busy") rather than forgetting one early.
 */
export class ReplayGuard {
  readonly windowMs: number;
  readonly maxEntries: number;
  /** nonce (hex) -> the server time after which its record is stale. */
  readonly #seen = new Map<string, number>();

  constructor(options: { windowMs?: number; maxEntries?: number } = {}) {
    this.windowMs = options.windowMs ?? AUTH_WINDOW_MS;
    this.maxEntries = options.maxEntries ?? 65_536;
  }

  /** Checks a record with a valid proof and, when fresh, remembers its nonce. */
  admit(fields: Pick<ConnectFields, "timestampMs" | "nonce">, nowMs: number): Freshness {
    const timestampMs = Number(fields.timestampMs);
    const skewMs = nowMs - timestampMs;
    if (Math.abs(skewMs) > this.windowMs) {
      return {
        fresh: false,
        reason: "stale",
        detail: `record time is ${(Math.abs(skewMs) / 1000).toFixed(1)} s ${
          skewMs > 0 ? "behind" : "ahead of"
        } the server clock (allowed: ${this.windowMs / 1000} s)`,
      };
    }
    this.#prune(nowMs);
    const key = Array.from(fields.nonce, (b) => b.toString(16).padStart(2, "0")).join("");
    if (this.#seen.has(key)) {
      return { fresh: false, reason: "replayed", detail: `nonce ${key} was already used` };
    }
    if (this.#seen.size >= this.maxEntries) {
      return {
        fresh: false,
        reason: "busy",
        detail: `${this.#seen.size} connects within ${this.windowMs / 1000} s; try again`,
      };
    }
    this.#seen.set(key, timestampMs + this.windowMs);
    return { fresh: true };
  }

  /** Nonces currently remembered. */
  get size(): number {
    return this.#seen.size;
  }

  #prune(nowMs: number): void {
    for (const [key, staleAfterMs] of this.#seen) {
      if (staleAfterMs < nowMs) this.#seen.delete(key);
    }
  }
}
