/**
 * The RDMA CM private data of the memory server, all packed little-endian. Pure code.
 *
 * The legacy contract of remote-swap drivers (SPIRIT.md section 2) is one record
 * `{u64 addr, u32 rkey, u64 size}` (20 bytes): the client sends `{0, 0, size}`, the server
 * accepts with `{addr, rkey, 0}`. spirit's own clients send a 48-byte connect record instead,
 * which carries a proof of the per-run secret (memserver/rdma_auth.ts):
 *
 * | offset | bytes | field                                                      |
 * | ------ | ----- | ---------------------------------------------------------- |
 * | 0      | 4     | magic "SPRT"                                               |
 * | 4      | 1     | version (1)                                                |
 * | 5      | 1     | type (1 = connect)                                         |
 * | 6      | 2     | reserved, 0                                                |
 * | 8      | 8     | size: bytes requested (0 = a probe)                        |
 * | 16     | 8     | timestamp: client wall clock, ms since the Unix epoch      |
 * | 24     | 8     | nonce: random, never reused                                |
 * | 32     | 16    | proof: HMAC-SHA-256 over the port and bytes 0..32, cut to 16 |
 *
 * The server accepts such a client with the 20-byte region record followed by its own
 * 16-byte proof (36 bytes), and refuses any client with a 16-byte reject record (magic,
 * version, type 2, reason code, server time) in the CM reject's private data. Everything fits
 * the 56 bytes InfiniBand leaves for connect private data.
 * @module
 */

/** Bytes of the packed record. */
export const REGION_RECORD_BYTES = 20;

/** Granularity of server regions: requests are rounded up to whole 2 MiB huge pages. */
export const RDMA_REGION_ALIGN_BYTES = 2 * 1024 * 1024;

/** The packed record. */
export interface RegionRecord {
  readonly addr: bigint;
  readonly rkey: number;
  readonly sizeBytes: bigint;
}

/** Encodes a record (20 bytes, little-endian, packed). */
export function encodeRegionRecord(record: RegionRecord): Uint8Array {
  const bytes = new Uint8Array(REGION_RECORD_BYTES);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, record.addr, true);
  view.setUint32(8, record.rkey, true);
  view.setBigUint64(12, record.sizeBytes, true);
  return bytes;
}

/**
 * Decodes a record from CM private data. The transport pads private data (to 56 bytes on
 * InfiniBand), so anything after the first 20 bytes is ignored. Throws RangeError when short.
 */
export function decodeRegionRecord(privateData: Uint8Array): RegionRecord {
  if (privateData.length < REGION_RECORD_BYTES) {
    throw new RangeError(
      `RDMA private data has ${privateData.length} bytes; the region record needs ` +
        `${REGION_RECORD_BYTES} ({u64 addr, u32 rkey, u64 size})`,
    );
  }
  const view = new DataView(privateData.buffer, privateData.byteOffset, REGION_RECORD_BYTES);
  return {
    addr: view.getBigUint64(0, true),
    rkey: view.getUint32(8, true),
    sizeBytes: view.getBigUint64(12, true),
  };
}

/** Rounds a requested size up to whole {@link RDMA_REGION_ALIGN_BYTES}. */
export function roundRegionBytes(sizeBytes: number): number {
  return Math.ceil(sizeBytes / RDMA_REGION_ALIGN_BYTES) * RDMA_REGION_ALIGN_BYTES;
}

/** Magic of spirit's records: "SPRT". A legacy record starts with its address instead. */
export const SPIRIT_MAGIC: Uint8Array = Uint8Array.of(0x53, 0x50, 0x52, 0x54);
/** Version of spirit's records this code speaks. */
export const SPIRIT_RECORD_VERSION = 1;
/** Bytes of spirit's connect record. */
export const CONNECT_RECORD_BYTES = 48;
/** Bytes of the connect record the client's proof covers (everything before the proof). */
export const CONNECT_SIGNED_BYTES = 32;
/** Bytes of a proof (an HMAC-SHA-256 cut to 128 bits). */
export const PROOF_BYTES = 16;
/** Bytes of the accept record sent to a spirit client: region record, then the server's proof. */
export const ACCEPT_RECORD_BYTES = REGION_RECORD_BYTES + PROOF_BYTES;
/** Bytes of the reject record. */
export const REJECT_RECORD_BYTES = 16;

const TYPE_CONNECT = 1;
const TYPE_REJECT = 2;

/** The fields of a connect record before its proof. */
export interface ConnectFields {
  readonly sizeBytes: bigint;
  readonly timestampMs: bigint;
  /** 8 random bytes. */
  readonly nonce: Uint8Array;
}

/** What a connect request's private data holds. */
export type ConnectRequest =
  | {
    readonly kind: "spirit";
    readonly fields: ConnectFields;
    /** The whole 48-byte record (the server's proof covers it). */
    readonly record: Uint8Array;
  }
  | { readonly kind: "legacy"; readonly sizeBytes: bigint }
  | {
    readonly kind: "invalid";
    readonly reason: "malformed" | "unsupported-version";
    readonly detail: string;
  };

function startsWithMagic(bytes: Uint8Array): boolean {
  return SPIRIT_MAGIC.every((byte, i) => bytes[i] === byte);
}

/** The first 32 bytes of a connect record (what the client's proof covers). */
export function encodeConnectHeader(fields: ConnectFields): Uint8Array {
  if (fields.nonce.length !== 8) {
    throw new RangeError(`nonce must be 8 bytes, got ${fields.nonce.length}`);
  }
  const bytes = new Uint8Array(CONNECT_SIGNED_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(SPIRIT_MAGIC, 0);
  view.setUint8(4, SPIRIT_RECORD_VERSION);
  view.setUint8(5, TYPE_CONNECT);
  view.setBigUint64(8, fields.sizeBytes, true);
  view.setBigUint64(16, fields.timestampMs, true);
  bytes.set(fields.nonce, 24);
  return bytes;
}

/** Tells a spirit connect record from a legacy region record and decodes it. Never throws. */
export function decodeConnectRequest(privateData: Uint8Array): ConnectRequest {
  if (!startsWithMagic(privateData)) {
    if (privateData.length < REGION_RECORD_BYTES) {
      return {
        kind: "invalid",
        reason: "malformed",
        detail: `private data has ${privateData.length} bytes; a legacy region record has ` +
          `${REGION_RECORD_BYTES} ({u64 addr, u32 rkey, u64 size}) and spirit's has ` +
          `${CONNECT_RECORD_BYTES}`,
      };
    }
    return { kind: "legacy", sizeBytes: decodeRegionRecord(privateData).sizeBytes };
  }
  const view = new DataView(privateData.buffer, privateData.byteOffset, privateData.byteLength);
  const version = privateData.length > 4 ? view.getUint8(4) : undefined;
  if (version !== undefined && version !== SPIRIT_RECORD_VERSION) {
    return {
      kind: "invalid",
      reason: "unsupported-version",
      detail: `spirit record version ${version}; this server speaks ${SPIRIT_RECORD_VERSION}`,
    };
  }
  if (privateData.length < CONNECT_RECORD_BYTES) {
    return {
      kind: "invalid",
      reason: "malformed",
      detail: `spirit connect record truncated: ${privateData.length} of ` +
        `${CONNECT_RECORD_BYTES} bytes`,
    };
  }
  if (view.getUint8(5) !== TYPE_CONNECT) {
    return {
      kind: "invalid",
      reason: "malformed",
      detail: `spirit record type ${view.getUint8(5)} is not a connect request (1)`,
    };
  }
  const record = privateData.slice(0, CONNECT_RECORD_BYTES);
  return {
    kind: "spirit",
    fields: {
      sizeBytes: view.getBigUint64(8, true),
      timestampMs: view.getBigUint64(16, true),
      nonce: record.slice(24, 32),
    },
    record,
  };
}

/** The accept record: the region record, then the server's proof when it has one. */
export function encodeAcceptRecord(region: RegionRecord, proof?: Uint8Array): Uint8Array {
  const plain = encodeRegionRecord(region);
  if (proof === undefined) return plain;
  if (proof.length !== PROOF_BYTES) throw new RangeError(`proof must be ${PROOF_BYTES} bytes`);
  const bytes = new Uint8Array(ACCEPT_RECORD_BYTES);
  bytes.set(plain);
  bytes.set(proof, REGION_RECORD_BYTES);
  return bytes;
}

/** Decodes an accept record; `proof` is null when the server sent the 20-byte legacy form. */
export function decodeAcceptRecord(
  privateData: Uint8Array,
): { region: RegionRecord; regionBytes: Uint8Array; proof: Uint8Array | null } {
  const region = decodeRegionRecord(privateData);
  const regionBytes = privateData.slice(0, REGION_RECORD_BYTES);
  const tail = privateData.subarray(REGION_RECORD_BYTES, ACCEPT_RECORD_BYTES);
  // IB pads private data with zeros: an all-zero tail is the legacy form.
  const proof = tail.length === PROOF_BYTES && tail.some((b) => b !== 0) ? tail.slice() : null;
  return { region, regionBytes, proof };
}

/** Why the server refused a connection (the reject record's reason code is index + 1). */
export const REJECT_REASONS = [
  "malformed",
  "unsupported-version",
  "bad-proof",
  "stale",
  "replayed",
  "legacy-not-allowed",
  "probe",
  "no-memory",
  "too-many-clients",
  "server-error",
  "busy",
] as const;
/** One reject reason. */
export type RejectReason = typeof REJECT_REASONS[number];

/** A decoded reject record. */
export interface RejectRecord {
  readonly reason: RejectReason | "unknown";
  /** The server's wall clock when it refused, ms since the Unix epoch. */
  readonly serverTimeMs: number;
}

/** The reject record: magic, version, type 2, reason code, reserved (4), server time. */
export function encodeRejectRecord(reason: RejectReason, serverTimeMs: number): Uint8Array {
  const bytes = new Uint8Array(REJECT_RECORD_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(SPIRIT_MAGIC, 0);
  view.setUint8(4, SPIRIT_RECORD_VERSION);
  view.setUint8(5, TYPE_REJECT);
  view.setUint8(6, REJECT_REASONS.indexOf(reason) + 1);
  view.setBigUint64(8, BigInt(Math.max(0, Math.floor(serverTimeMs))), true);
  return bytes;
}

/** Decodes a reject record; null when the reject carried none (the CM's own, or a legacy server). */
export function decodeRejectRecord(privateData: Uint8Array): RejectRecord | null {
  if (privateData.length < REJECT_RECORD_BYTES || !startsWithMagic(privateData)) return null;
  const view = new DataView(privateData.buffer, privateData.byteOffset, privateData.byteLength);
  if (view.getUint8(5) !== TYPE_REJECT) return null;
  return {
    reason: REJECT_REASONS[view.getUint8(6) - 1] ?? "unknown",
    serverTimeMs: Number(view.getBigUint64(8, true)),
  };
}

/** What a reject means for the client, in a sentence; `nowMs` is the client's clock. */
export function describeReject(record: RejectRecord, nowMs: number): string {
  switch (record.reason) {
    case "malformed":
      return "the server could not read the connect request";
    case "unsupported-version":
      return "the server speaks another version of spirit's connect record " +
        "(run the same spirit version on both sides)";
    case "bad-proof":
      return "the secret does not match the server's (check --token-file)";
    case "stale": {
      const offSeconds = Math.abs(nowMs - record.serverTimeMs) / 1000;
      return `this host's clock is ${offSeconds.toFixed(1)} s off the server's ` +
        "(synchronise the clocks, e.g. with NTP)";
    }
    case "replayed":
      return "the server saw this connect request before (a replay)";
    case "legacy-not-allowed":
      return "the server needs a secret from this address (give the client --token-file, " +
        "or list the address in memserver.rdmaLegacyAllow)";
    case "probe":
      return "answered a probe (the server is listening)";
    case "no-memory":
      return "the server does not have enough free memory for the request";
    case "too-many-clients":
      return "the server already serves its maximum number of clients (--max-connections)";
    case "server-error":
      return "the server failed to set up the connection (see its log)";
    case "busy":
      return "the server had too many recent connects; try again";
    case "unknown":
      return "the server gave a reason this client does not know";
  }
}
