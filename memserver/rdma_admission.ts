/**
 * Whether the RDMA memory server admits a connection request, from its private data and the
 * peer address the CM reports. Pure code (the clock is passed in).
 *
 * - Without a secret the server is open, as the legacy contract is: any request is admitted.
 * - With a secret, a spirit connect record must carry a valid, fresh, unused proof; a legacy
 *   region record (no proof) is admitted only from a peer in the legacy allow-list.
 * - A request for 0 bytes is a probe and is refused before any check (it only tells that a
 *   spirit server listens, which the CM reject itself already tells).
 * @module
 */
import { type Cidr, findCidr, formatIpAddress, type IpAddress } from "../common/ip_address.ts";
import { type ReplayGuard, verifyConnectRecord } from "./rdma_auth.ts";
import { decodeConnectRequest, type RejectReason } from "./rdma_private_data.ts";

/** How a client was admitted. */
export type AdmittedBy = "secret" | "legacy-allow" | "open";

/** The server's admission policy. */
export interface AdmissionPolicy {
  /** The per-run secret; absent: every request is admitted. */
  readonly secret?: Uint8Array;
  /** Peers whose legacy (proof-less) requests are admitted when a secret is set. */
  readonly legacyAllow: readonly Cidr[];
  /** The port the server listens on (the client's proof covers it). */
  readonly port: number;
  readonly replay: ReplayGuard;
}

/** The decision on one request. */
export type Admission =
  | {
    readonly admitted: true;
    readonly sizeBytes: number;
    readonly by: AdmittedBy;
    /** The client's connect record when it sent one (the server's accept proof covers it). */
    readonly connectRecord: Uint8Array | null;
    readonly detail: string;
  }
  | { readonly admitted: false; readonly reason: RejectReason; readonly detail: string };

/** Decides on a connect request from `peer` (null when the CM reports no IP address). */
export function admit(
  privateData: Uint8Array,
  context: { readonly peer: IpAddress | null; readonly nowMs: number },
  policy: AdmissionPolicy,
): Admission {
  const request = decodeConnectRequest(privateData);
  if (request.kind === "invalid") {
    return { admitted: false, reason: request.reason, detail: request.detail };
  }
  const sizeBytes = request.kind === "spirit" ? request.fields.sizeBytes : request.sizeBytes;
  if (sizeBytes === 0n) return { admitted: false, reason: "probe", detail: "a probe (0 bytes)" };
  if (sizeBytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    return {
      admitted: false,
      reason: "malformed",
      detail: `requested size ${sizeBytes} is not a byte count this server can hold`,
    };
  }
  const size = Number(sizeBytes);
  const connectRecord = request.kind === "spirit" ? request.record : null;
  const kind = request.kind === "spirit" ? "spirit record" : "legacy record (no proof)";
  if (policy.secret === undefined) {
    return { admitted: true, sizeBytes: size, by: "open", connectRecord, detail: kind };
  }
  if (request.kind === "spirit") {
    if (!verifyConnectRecord(policy.secret, policy.port, request.record)) {
      return {
        admitted: false,
        reason: "bad-proof",
        detail: "the proof does not match this server's secret (wrong --token-file?)",
      };
    }
    const freshness = policy.replay.admit(request.fields, context.nowMs);
    if (!freshness.fresh) {
      return { admitted: false, reason: freshness.reason, detail: freshness.detail };
    }
    return {
      admitted: true,
      sizeBytes: size,
      by: "secret",
      connectRecord,
      detail: "proof of the secret",
    };
  }
  const peer = context.peer === null ? "an unknown address" : formatIpAddress(context.peer);
  const block = context.peer === null ? undefined : findCidr(policy.legacyAllow, context.peer);
  if (block === undefined) {
    const allowed = policy.legacyAllow.length === 0
      ? "no --rdma-legacy-allow blocks are set"
      : `not in --rdma-legacy-allow ${policy.legacyAllow.map((b) => b.text).join(",")}`;
    return {
      admitted: false,
      reason: "legacy-not-allowed",
      detail: `legacy record (no proof) from ${peer}; ${allowed}`,
    };
  }
  return {
    admitted: true,
    sizeBytes: size,
    by: "legacy-allow",
    connectRecord: null,
    detail: `legacy record from ${peer}, allowed by ${block.text}`,
  };
}
