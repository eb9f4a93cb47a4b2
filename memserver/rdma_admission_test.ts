import assert from "node:assert/strict";
import { parseCidr, parseIpAddress } from "../common/ip_address.ts";
import { type AdmissionPolicy, admit } from "./rdma_admission.ts";
import { ReplayGuard, signConnectRecord } from "./rdma_auth.ts";
import { encodeRegionRecord } from "./rdma_private_data.ts";

const SECRET = new TextEncoder().encode("per-run secret");
const NOW = 1_800_000_000_000;
const PORT = 7471;

function policy(overrides: Partial<AdmissionPolicy> = {}): AdmissionPolicy {
  return {
    secret: SECRET,
    legacyAllow: [parseCidr("10.0.0.0/24"), parseCidr("fd00::/64")],
    port: PORT,
    replay: new ReplayGuard(),
    ...overrides,
  };
}

function peer(text: string) {
  return parseIpAddress(text) ?? null;
}

function spirit(secret = SECRET, sizeBytes = 8n << 20n, nonceByte = 1): Uint8Array {
  return signConnectRecord(secret, {
    port: PORT,
    sizeBytes,
    timestampMs: BigInt(NOW),
    nonce: new Uint8Array(8).fill(nonceByte),
  });
}

const legacy = (sizeBytes = 8n << 20n) => encodeRegionRecord({ addr: 0n, rkey: 0, sizeBytes });

Deno.test("admit accepts a spirit client with the right proof", () => {
  const record = spirit();
  const decision = admit(record, { peer: peer("192.0.2.1"), nowMs: NOW }, policy());
  assert.equal(decision.admitted, true);
  if (decision.admitted) {
    assert.equal(decision.by, "secret");
    assert.equal(decision.sizeBytes, 8 << 20);
    assert.deepEqual(decision.connectRecord, record);
  }
});

Deno.test("admit refuses a spirit client with the wrong secret", () => {
  const decision = admit(
    spirit(new TextEncoder().encode("wrong")),
    { peer: peer("10.0.0.5"), nowMs: NOW },
    policy(),
  );
  assert.deepEqual(decision, {
    admitted: false,
    reason: "bad-proof",
    detail: "the proof does not match this server's secret (wrong --token-file?)",
  });
});

Deno.test("admit refuses a replayed spirit record", () => {
  const shared = policy();
  assert.equal(admit(spirit(), { peer: null, nowMs: NOW }, shared).admitted, true);
  const again = admit(spirit(), { peer: null, nowMs: NOW + 100 }, shared);
  assert.equal(again.admitted, false);
  if (!again.admitted) assert.equal(again.reason, "replayed");
});

Deno.test("admit refuses a spirit record from a clock far off", () => {
  const decision = admit(spirit(), { peer: null, nowMs: NOW + 120_000 }, policy());
  assert.equal(decision.admitted, false);
  if (!decision.admitted) assert.equal(decision.reason, "stale");
});

Deno.test("admit accepts a legacy record from an allowed peer, IPv4 and IPv6", () => {
  for (const address of ["10.0.0.200", "fd00::9", "::ffff:a00:7"]) {
    const decision = admit(legacy(), { peer: peer(address), nowMs: NOW }, policy());
    assert.equal(decision.admitted, true, address);
    if (decision.admitted) {
      assert.equal(decision.by, "legacy-allow");
      assert.equal(decision.connectRecord, null);
      assert.match(decision.detail, /allowed by (10\.0\.0\.0\/24|fd00::\/64)/);
    }
  }
});

Deno.test("admit refuses a legacy record from a peer outside the allow-list", () => {
  const decision = admit(legacy(), { peer: peer("10.0.1.5"), nowMs: NOW }, policy());
  assert.deepEqual(decision, {
    admitted: false,
    reason: "legacy-not-allowed",
    detail: "legacy record (no proof) from 10.0.1.5; not in --rdma-legacy-allow " +
      "10.0.0.0/24,fd00::/64",
  });
});

Deno.test("admit refuses legacy records when no allow-list is set or the peer is unknown", () => {
  const none = admit(legacy(), { peer: peer("10.0.0.5"), nowMs: NOW }, policy({ legacyAllow: [] }));
  assert.equal(none.admitted, false);
  if (!none.admitted) assert.match(none.detail, /no --rdma-legacy-allow blocks are set/);
  const unknown = admit(legacy(), { peer: null, nowMs: NOW }, policy());
  assert.equal(unknown.admitted, false);
  if (!unknown.admitted) assert.match(unknown.detail, /from an unknown address/);
});

Deno.test("admit without a secret accepts legacy and spirit records from anyone", () => {
  const open = policy({ legacyAllow: [] });
  const { secret: _secret, ...withoutSecret } = open;
  for (const record of [legacy(), spirit(new TextEncoder().encode("anything"))]) {
    const decision = admit(record, { peer: peer("203.0.113.9"), nowMs: NOW }, withoutSecret);
    assert.equal(decision.admitted, true);
    if (decision.admitted) assert.equal(decision.by, "open");
  }
});

Deno.test("admit answers a probe (0 bytes) before checking anything", () => {
  for (const record of [legacy(0n), spirit(new TextEncoder().encode("wrong"), 0n)]) {
    const decision = admit(record, { peer: null, nowMs: NOW }, policy());
    assert.deepEqual(decision, { admitted: false, reason: "probe", detail: "a probe (0 bytes)" });
  }
});

Deno.test("admit refuses truncated and oversized requests as malformed", () => {
  const truncated = admit(spirit().subarray(0, 30), { peer: null, nowMs: NOW }, policy());
  assert.equal(truncated.admitted, false);
  if (!truncated.admitted) assert.equal(truncated.reason, "malformed");
  const huge = admit(legacy(1n << 60n), { peer: peer("10.0.0.1"), nowMs: NOW }, policy());
  assert.equal(huge.admitted, false);
  if (!huge.admitted) assert.match(huge.detail, /not a byte count/);
});
