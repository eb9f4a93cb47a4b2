import assert from "node:assert/strict";
import { defaultSwapDevices, devToMajorMinor, parseProcSwaps } from "./swaps.ts";

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

const swap = (path: string, device: string | null) => ({
  path,
  type: "partition",
  sizeBytes: 1,
  usedBytes: 0,
  priority: -2,
  device,
});

Deno.test("defaultSwapDevices is every active swap device without a remote one", () => {
  const active = [swap("/dev/loop0", "7:0"), swap("/dev/sda2", "8:0"), swap("/swapfile", null)];
  assert.deepEqual(defaultSwapDevices(active, null), ["7:0", "8:0"]);
});

Deno.test("defaultSwapDevices is only the node's remote swap device when it is active", () => {
  const active = [swap("/dev/loop0", "7:0"), swap("/dev/loop9", "7:9")];
  assert.deepEqual(defaultSwapDevices(active, "/dev/loop9"), ["7:9"]);
  // Not (or no longer) active: every active device, never none.
  assert.deepEqual(defaultSwapDevices(active, "/dev/loop3"), ["7:0", "7:9"]);
  assert.deepEqual(defaultSwapDevices([], "/dev/loop3"), []);
});
