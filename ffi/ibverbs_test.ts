import assert from "node:assert/strict";
import { FAKE_RDMA_PREREQS, useFakeRdmaInProcess } from "../test/fixtures/fake_rdma/build.ts";
import { systemTest } from "../test/prereq.ts";
import {
  CompletionChannel,
  CompletionQueue,
  DeviceContext,
  listRdmaDevices,
  MemoryRegion,
  ProtectionDomain,
  queryDevice,
  RdmaError,
} from "./ibverbs.ts";

systemTest("listRdmaDevices lists devices with their limits", FAKE_RDMA_PREREQS, async () => {
  await using _fake = await useFakeRdmaInProcess();
  const availability = listRdmaDevices();
  assert.ok(availability.available);
  assert.equal(availability.devices[0]?.name, "fake_rdma0");
  assert.equal(availability.devices[0]?.limits?.maxQpWr, 16384);
});

systemTest(
  "listRdmaDevices reports an empty device list as unavailable with a reason",
  FAKE_RDMA_PREREQS,
  async () => {
    await using _fake = await useFakeRdmaInProcess();
    Deno.env.set("FAKE_RDMA_DEVICES", "0");
    const availability = listRdmaDevices();
    assert.equal(availability.available, false);
    assert.match(availability.available ? "" : availability.reason, /empty list/);
  },
);

systemTest(
  "verbs wrappers close idempotently and release every object",
  FAKE_RDMA_PREREQS,
  async () => {
    await using fake = await useFakeRdmaInProcess();
    {
      using device = DeviceContext.open("fake_rdma0");
      assert.equal(queryDevice(device.pointer).maxSge, 16);
      using pd = new ProtectionDomain(device.pointer);
      const memory = new Uint8Array(8192);
      const pointer = Deno.UnsafePointer.of(memory);
      assert.ok(pointer !== null);
      using mr = new MemoryRegion(pd, { pointer, lengthBytes: memory.length }, {
        localWrite: true,
        remoteRead: true,
      });
      assert.notEqual(mr.rkey, 0);
      using channel = new CompletionChannel(device.pointer);
      using cq = new CompletionQueue(device.pointer, { entries: 32, channel });
      assert.equal(cq.entries, 32);
      mr.close();
      mr.close();
      assert.equal(mr.open, false);
      cq.close();
      cq.close();
    }
    assert.equal(fake.liveObjects(), 0);
  },
);

systemTest(
  "ibv_reg_mr failure is an RdmaError naming the call and errno",
  FAKE_RDMA_PREREQS,
  async () => {
    await using _fake = await useFakeRdmaInProcess();
    using device = DeviceContext.open();
    using pd = new ProtectionDomain(device.pointer);
    const memory = new Uint8Array(64);
    const pointer = Deno.UnsafePointer.of(memory);
    assert.ok(pointer !== null);
    assert.throws(
      () => new MemoryRegion(pd, { pointer, lengthBytes: 0 }, { localWrite: true }),
      (error: unknown) =>
        error instanceof RdmaError && error.call === "ibv_reg_mr" && error.errno === 22 &&
        /Invalid argument/.test(error.message),
    );
  },
);

systemTest("DeviceContext.open names the devices it found", FAKE_RDMA_PREREQS, async () => {
  await using _fake = await useFakeRdmaInProcess();
  assert.throws(
    () => DeviceContext.open("mlx5_9"),
    /no RDMA device "mlx5_9" \(found: fake_rdma0\)/,
  );
});
