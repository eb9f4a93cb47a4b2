import assert from "node:assert/strict";
import { SwapTraffic } from "./swap_traffic.ts";

const bytes = (readBytes: number, writeBytes = 0) => ({ readBytes, writeBytes });

Deno.test("SwapTraffic sums the devices measured", () => {
  const traffic = new SwapTraffic();
  assert.deepEqual(
    traffic.update(new Map([["7:0", bytes(10, 1)], ["7:1", bytes(5, 2)]])),
    bytes(15, 3),
  );
});

Deno.test("SwapTraffic keeps what a device counted after it leaves the set", () => {
  const traffic = new SwapTraffic();
  traffic.update(new Map([["7:0", bytes(100)]]));
  // The loop device was swapped off and a remote device took over.
  assert.deepEqual(traffic.update(new Map([["252:0", bytes(30)]])), bytes(130));
  assert.deepEqual(traffic.update(new Map([["252:0", bytes(50)]])), bytes(150));
});

Deno.test("SwapTraffic continues from the last count when a device's counter restarts", () => {
  const traffic = new SwapTraffic();
  traffic.update(new Map([["7:0", bytes(100)]]));
  assert.deepEqual(traffic.update(new Map([["7:0", bytes(0)]])), bytes(100));
  assert.deepEqual(traffic.update(new Map([["7:0", bytes(40)]])), bytes(140));
});
