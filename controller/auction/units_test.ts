import assert from "node:assert/strict";
import { bundleOfBytes, bytesOfBundle, curveInBytes, curveInMiB } from "./units.ts";

Deno.test("bytesOfBundle and bundleOfBytes convert MiB and Mbps (1 Mbps = 125,000 B/s)", () => {
  assert.deepEqual(bytesOfBundle({ cacheMiB: 2, bandwidthMbps: 8 }), {
    cacheBytes: 2 * 2 ** 20,
    bandwidthBytesPerSec: 1_000_000,
  });
  assert.deepEqual(bundleOfBytes({ cacheBytes: 3 * 2 ** 20, bandwidthBytesPerSec: 250_000 }), {
    cacheMiB: 3,
    bandwidthMbps: 2,
  });
});

Deno.test("bytesOfBundle rounds down, so bundles that fit a node still fit in bytes", () => {
  const thirds = [0, 1, 2].map(() => bytesOfBundle({ cacheMiB: 64 / 3, bandwidthMbps: 120 / 3 }));
  assert.ok(thirds.reduce((a, b) => a + b.cacheBytes, 0) <= 64 * 2 ** 20);
  assert.ok(thirds.reduce((a, b) => a + b.bandwidthBytesPerSec, 0) <= 120 * 125_000);
});

Deno.test("curveInMiB and curveInBytes are inverse", () => {
  const curve: Array<[number, number]> = [[0, 1], [1.5, 0.5], [64, 0.01]];
  assert.deepEqual(curveInMiB(curveInBytes(curve)), curve);
});
