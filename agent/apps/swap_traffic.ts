/**
 * Cumulative swap traffic of one app across a set of swap devices that may change while it
 * runs (a remote swap device coming up, a device swapped off and its loop device reused). Pure.
 * @module
 */
import type { DeviceBytes } from "../cgroup/stats.ts";

/** One counter of one device: what earlier incarnations counted, and the last reading. */
interface Counter {
  base: number;
  last: number;
}

function advance(counter: Counter | undefined, reading: number): Counter {
  if (counter === undefined) return { base: 0, last: reading };
  // A reading below the last one is a new device behind the same number: its count restarted.
  if (reading < counter.last) return { base: counter.base + counter.last, last: reading };
  return { base: counter.base, last: reading };
}

/**
 * Totals of per-device cumulative counters that never go backwards: a device that leaves the
 * set keeps what it counted, one that joins adds what it counts, and a counter that restarts
 * (the kernel forgot a detached device) continues from where it was.
 * @example
 * const traffic = new SwapTraffic();
 * traffic.update(new Map([["7:0", { readBytes: 4096, writeBytes: 0 }]])); // { readBytes: 4096, ... }
 */
export class SwapTraffic {
  readonly #reads = new Map<string, Counter>();
  readonly #writes = new Map<string, Counter>();

  /** Records the counters of the devices measured now and returns the totals. */
  update(devices: ReadonlyMap<string, DeviceBytes>): DeviceBytes {
    for (const [device, bytes] of devices) {
      this.#reads.set(device, advance(this.#reads.get(device), bytes.readBytes));
      this.#writes.set(device, advance(this.#writes.get(device), bytes.writeBytes));
    }
    const total = (counters: Map<string, Counter>) =>
      [...counters.values()].reduce((sum, c) => sum + c.base + c.last, 0);
    return { readBytes: total(this.#reads), writeBytes: total(this.#writes) };
  }
}
