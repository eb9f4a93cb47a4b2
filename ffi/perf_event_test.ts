import assert from "node:assert/strict";
import {
  encodePerfEventAttr,
  openSoftwareCounter,
  PERF_ATTR_SIZE,
  PerfAddressSampler,
  PerfType,
  SampleType,
  SoftwareEvent,
} from "./perf_event.ts";

Deno.test("encodePerfEventAttr lays out struct perf_event_attr as linux/perf_event.h", () => {
  const bytes = encodePerfEventAttr({
    type: PerfType.HW_CACHE,
    config: 0x10002,
    samplePeriod: 25,
    sampleType: SampleType.TID | SampleType.ADDR,
    disabled: true,
    inherit: true,
    excludeKernel: true,
    preciseIp: 2,
  });
  const view = new DataView(bytes.buffer);
  assert.equal(bytes.length, PERF_ATTR_SIZE);
  assert.equal(view.getUint32(0, true), 3); // type
  assert.equal(view.getUint32(4, true), 128); // size (PERF_ATTR_SIZE_VER7)
  assert.equal(view.getBigUint64(8, true), 0x10002n); // config
  assert.equal(view.getBigUint64(16, true), 25n); // sample_period
  assert.equal(view.getBigUint64(24, true), 0b1010n); // sample_type: TID | ADDR
  // flags: disabled (bit 0), inherit (1), exclude_kernel (5), precise_ip = 2 (bits 15-16)
  assert.equal(view.getBigUint64(40, true), (1n << 0n) | (1n << 1n) | (1n << 5n) | (2n << 15n));
});

Deno.test("software page-fault counter counts this process's faults", () => {
  using counter = openSoftwareCounter(SoftwareEvent.PAGE_FAULTS, 0);
  const before = counter.read();
  // A fresh mapping (a WebAssembly memory is mapped on its own): a typed array could reuse heap
  // pages an earlier test had already faulted in, and then touching it faults nothing.
  const memory = new Uint8Array(new WebAssembly.Memory({ initial: 128 }).buffer); // 8 MiB
  for (let i = 0; i < memory.length; i += 4096) memory[i] = 1;
  const faults = counter.read() - before;
  assert.ok(faults >= 1000n, `${faults} faults for 2048 pages`);
});

Deno.test("address sampler reads fault addresses from the perf ring buffer", () => {
  using sampler = new PerfAddressSampler(
    { type: PerfType.SOFTWARE, config: SoftwareEvent.PAGE_FAULTS, samplePeriod: 1 },
    { pid: 0, dataPages: 8 },
  );
  const memory = new Uint8Array(new WebAssembly.Memory({ initial: 16 }).buffer); // 1 MiB, fresh
  for (let i = 0; i < memory.length; i += 4096) memory[i] = 1;
  const samples = sampler.drain();
  assert.ok(samples.length >= 64, `${samples.length} samples`);
  assert.ok(samples.every((s) => s.pid === Deno.pid));
  assert.ok(samples.some((s) => s.addr > 0n));
});
