import assert from "node:assert/strict";
import type { Cgroup, CgroupSnapshot } from "../cgroup/cgroup.ts";
import { CgroupWriteError } from "../cgroup/files.ts";
import type { EnforceableLimits } from "../protocol.ts";
import { CgroupEnforcer } from "./cgroup_enforcer.ts";

/** A cgroup whose usage drops to each accepted limit; `busyWrites` refuse the next writes with EBUSY. */
class FakeCgroup implements Cgroup {
  readonly version = 1 as const;
  readonly paths = {};
  readonly owned = true;
  usage: number;
  writes: number[] = [];
  refused: number[] = [];
  busyWrites = 0;
  shrinks = true;
  constructor(usage: number) {
    this.usage = usage;
  }
  procsFiles(): string[] {
    return [];
  }
  writeCacheLimit(bytes: number): Promise<void> {
    if (bytes < this.usage && this.busyWrites > 0) {
      this.busyWrites--;
      this.refused.push(bytes);
      const cause = Object.assign(new Error("Device or resource busy"), { code: "EBUSY" });
      return Promise.reject(
        new CgroupWriteError("memory.limit_in_bytes", { value: String(bytes), cause }),
      );
    }
    this.writes.push(bytes);
    if (this.shrinks) this.usage = Math.min(this.usage, bytes);
    return Promise.resolve();
  }
  writeBandwidth(): Promise<void> {
    return Promise.resolve();
  }
  clearBandwidth(): Promise<void> {
    return Promise.resolve();
  }
  clearLimits(): Promise<void> {
    return Promise.resolve();
  }
  readSnapshot(): Promise<CgroupSnapshot> {
    return Promise.resolve({
      residentBytes: this.usage,
      peakResidentBytes: null,
      swapBytes: 0,
      majorFaults: 0,
      swapInBytes: 0,
      swapOutBytes: null,
      swapDeviceBytes: new Map(),
      workingset: { refaultTotal: null, activateTotal: null },
      ioReadBytes: 0,
      ioWriteBytes: 0,
      pressure: null,
    });
  }
  enforceable(): EnforceableLimits {
    const yes = { enforced: true as const, via: "fake" };
    return { cache: yes, bandwidthRead: yes, bandwidthWrite: yes };
  }
  pids(): Promise<number[]> {
    return Promise.resolve([]);
  }
  remove(): Promise<void> {
    return Promise.resolve();
  }
}

const allocation = (cacheBytes: number) => ({ cacheBytes, bandwidthBytesPerSec: 1 });

Deno.test("enforcer shrinks a limit below usage in steps of at most 20%", async () => {
  const cgroup = new FakeCgroup(1000);
  const enforcer = new CgroupEnforcer(cgroup, []);
  assert.equal(await enforcer.apply(allocation(500)), "stepping");
  await enforcer.settled();
  assert.deepEqual(cgroup.writes, [800, 640, 512, 500]);
});

Deno.test("enforcer raises a limit in one write", async () => {
  const cgroup = new FakeCgroup(100);
  const enforcer = new CgroupEnforcer(cgroup, []);
  assert.equal(await enforcer.apply(allocation(2000)), "immediate");
  assert.deepEqual(cgroup.writes, [2000]);
});

Deno.test("enforcer answers EBUSY with a limit halfway down, then the step again", async () => {
  const cgroup = new FakeCgroup(1000);
  const enforcer = new CgroupEnforcer(cgroup, []);
  await enforcer.apply(allocation(1000));
  cgroup.busyWrites = 2;
  assert.equal(await enforcer.apply(allocation(900)), "stepping");
  await enforcer.settled();
  // 900 refused, then 950 (halfway) refused too, then 975 (halfway again) taken, then 900.
  assert.deepEqual(cgroup.refused, [900, 950]);
  assert.deepEqual(cgroup.writes, [1000, 975, 900]);
});

Deno.test("a newer allocation supersedes a shrink in progress", async () => {
  const cgroup = new FakeCgroup(1000);
  cgroup.shrinks = false; // usage stays high, so each step waits for its timeout
  const enforcer = new CgroupEnforcer(cgroup, [], { stepTimeoutMs: 200 });
  assert.equal(await enforcer.apply(allocation(100)), "stepping");
  const shrinking = enforcer.settled();
  // The first step lands, then the app's usage stays above it.
  while (cgroup.writes.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  await enforcer.apply(allocation(5000));
  await shrinking;
  assert.equal(cgroup.writes.at(-1), 5000);
  assert.deepEqual(cgroup.writes, [800, 5000]);
});

Deno.test("enforcer answers a shrink below usage before any limit is written", async () => {
  const cgroup = new FakeCgroup(1000);
  let release = () => {};
  const blocked = new Promise<void>((resolve) => release = resolve);
  const write = cgroup.writeCacheLimit.bind(cgroup);
  // A v1 write that reclaims for a long time.
  cgroup.writeCacheLimit = async (bytes) => {
    await blocked;
    return write(bytes);
  };
  const enforcer = new CgroupEnforcer(cgroup, []);
  assert.equal(await enforcer.apply(allocation(900)), "stepping");
  assert.deepEqual(cgroup.writes, []);
  release();
  await enforcer.settled();
  assert.deepEqual(cgroup.writes, [900]);
});
