import assert from "node:assert/strict";
import { devToMajorMinor, parseProcSwaps } from "./swaps.ts";

Deno.test("parseProcSwaps reads sizes in bytes", () => {
  const swaps = parseProcSwaps(
    "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/loop0                              partition\t524284\t\t340\t\t-2\n",
  );
  assert.deepEqual(swaps, [{
    path: "/dev/loop0",
    type: "partition",
    sizeBytes: 524284 * 1024,
    usedBytes: 340 * 1024,
    priority: -2,
  }]);
});

Deno.test("devToMajorMinor splits Linux dev_t values", () => {
  assert.equal(devToMajorMinor(0x0700), "7:0");
  assert.equal(devToMajorMinor(0x10301), "259:1");
  assert.equal(devToMajorMinor((259 << 8) | 1 | (0x1 << 20)), "259:257");
});
