import assert from "node:assert/strict";
import type { AppSample } from "../../agent/protocol.ts";
import { BYTES_PER_MIB, BYTES_PER_SEC_PER_MBPS } from "../../common/units.ts";
import { appSample } from "../../test/fixtures/app_sample.ts";
import { epochUsage } from "./usage.ts";

/** A cgroup app's sample at `second` with cumulative swap-ins `swapInMiB`. */
function sample(
  second: number,
  fields: { swapInMiB: number; lastRateMbps?: number; state?: AppSample["state"] },
): AppSample {
  return appSample({
    seq: second,
    timeMs: second * 1000,
    elapsedMs: second * 1000,
    state: fields.state ?? "running",
    enforcement: "cgroup",
    opsTotal: 10 * second,
    throughputSource: "log",
    residentBytes: (60 + second) * BYTES_PER_MIB,
    swapInBytes: fields.swapInMiB * BYTES_PER_MIB,
    swapInBytesPerSec: (fields.lastRateMbps ?? 0) * BYTES_PER_SEC_PER_MBPS,
    majorFaults: fields.swapInMiB * 256,
  });
}

Deno.test("epochUsage averages swap traffic over the epoch, not the last second's rate", () => {
  // 40 MiB in the first second, nothing after: 8 MiB/s over 5 s, whatever the last rate says.
  const samples = [1, 2, 3, 4, 5].map((s) =>
    sample(s, { swapInMiB: 40, lastRateMbps: s === 5 ? 0 : 1 })
  );
  const usage = epochUsage(samples, sample(0, { swapInMiB: 0 }));
  const expectedMbps = 8 * BYTES_PER_MIB / BYTES_PER_SEC_PER_MBPS;
  assert.ok(
    Math.abs((usage?.remoteReadMbps ?? 0) - expectedMbps) < 1e-9,
    `${usage?.remoteReadMbps}`,
  );
  assert.ok(Math.abs((usage?.majorFaultsPerSec ?? 0) - 40 * 256 / 5) < 1e-9);
  // Resident memory is the mean over the epoch's samples: 61..65 MiB.
  assert.equal(usage?.cacheMiB, 63);
});

Deno.test("epochUsage counts from the epoch's first sample after a restart", () => {
  const before = sample(0, { swapInMiB: 500 });
  const after = [1, 2, 3].map((s) => ({ ...sample(s, { swapInMiB: 2 * (s - 1) }), elapsedMs: s }));
  const usage = epochUsage(after, before);
  assert.ok(Math.abs((usage?.remoteReadMbps ?? 0) - 2 * BYTES_PER_MIB / 125_000) < 1e-9);
});

Deno.test("epochUsage ignores an exited app's samples and is null without a running one", () => {
  assert.equal(epochUsage([sample(1, { swapInMiB: 1, state: "exited" })], null), null);
  assert.equal(epochUsage([], sample(0, { swapInMiB: 0 })), null);
});
