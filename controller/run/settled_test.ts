import assert from "node:assert/strict";
import { BYTES_PER_MIB } from "../../common/units.ts";
import { appSample } from "../../test/fixtures/app_sample.ts";
import { settledBetween, settledTail } from "./settled.ts";

const cacheBytes = 54 * BYTES_PER_MIB;

/** A sample at second `t` of an app with `cacheBytes` of cache. */
function at(t: number, { residentMiB, readMiB }: { residentMiB: number; readMiB: number }) {
  return appSample({
    timeMs: t * 1000,
    allocation: { cacheBytes, bandwidthBytesPerSec: 468_750 },
    residentBytes: residentMiB * BYTES_PER_MIB,
    swapInBytes: readMiB * BYTES_PER_MIB,
  });
}

Deno.test("settledBetween: a cache filling slowly (by less than 2 % of it a second) is still filling", () => {
  // 3.75 Mbps fill 54 MiB by about 0.45 MiB a second: every page read in stays.
  const before = at(0, { residentMiB: 22, readMiB: 100 });
  const after = at(1, { residentMiB: 22.45, readMiB: 100.45 });
  assert.equal(settledBetween(before, after), false);
});

Deno.test("settledBetween: a cache whose reads replace pages (resident flat) is settled", () => {
  const before = at(0, { residentMiB: 40, readMiB: 100 });
  const after = at(1, { residentMiB: 40.05, readMiB: 100.45 });
  assert.equal(settledBetween(before, after), true);
});

Deno.test("settledBetween: an app holding less than its cache and reading nothing is settled", () => {
  const before = at(0, { residentMiB: 12, readMiB: 100 });
  const after = at(1, { residentMiB: 12, readMiB: 100 });
  assert.equal(settledBetween(before, after), true);
});

Deno.test("settledBetween: a full cache is settled whatever it reads", () => {
  const before = at(0, { residentMiB: 52, readMiB: 100 });
  const after = at(1, { residentMiB: 52.4, readMiB: 100.45 });
  assert.equal(settledBetween(before, after), true);
});

Deno.test("settledTail: an epoch of a bandwidth-limited fill has no settled tail", () => {
  const epoch = [0, 1, 2, 3, 4].map((t) =>
    at(t, { residentMiB: 22 + 0.45 * t, readMiB: 100 + 0.45 * t })
  );
  assert.deepEqual(settledTail(epoch), []);
});
