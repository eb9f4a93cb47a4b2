/**
 * The cgroup v2 backend against a fake hierarchy in a temporary directory (this CI host has no
 * v2 memory controller): which files it writes, with which values, and how it reads statistics.
 */
import assert from "node:assert/strict";
import { CgroupV2 } from "./cgroup_v2.ts";
import type { CgroupLayout } from "./mounts.ts";

async function fakeHierarchy(): Promise<{ root: string; layout: CgroupLayout }> {
  const root = await Deno.makeTempDir({ prefix: "spirit-fake-cgroup2-" });
  await Deno.writeTextFile(`${root}/cgroup.subtree_control`, "");
  const mount = { version: 2 as const, mountPoint: root, controllers: ["memory", "io"] };
  return { root, layout: { mounts: [mount], memory: mount, io: mount } };
}

Deno.test("cgroup v2 backend enables controllers and writes memory.max, memory.high and io.max", async () => {
  const { root, layout } = await fakeHierarchy();
  try {
    const cgroup = await CgroupV2.create(layout, "app");
    const dir = `${root}/spirit/app`;
    assert.equal(await Deno.readTextFile(`${root}/spirit/cgroup.subtree_control`), "+memory +io");
    await cgroup.writeCacheLimit(2 ** 30);
    assert.equal(await Deno.readTextFile(`${dir}/memory.max`), String(2 ** 30));
    assert.equal(await Deno.readTextFile(`${dir}/memory.high`), String(Math.floor(0.9 * 2 ** 30)));
    await cgroup.writeCacheLimit(4 * 2 ** 30);
    assert.equal(
      await Deno.readTextFile(`${dir}/memory.high`),
      String(4 * 2 ** 30 - 256 * 2 ** 20),
    );
    await cgroup.writeBandwidth(["259:0"], 125e6);
    assert.equal(await Deno.readTextFile(`${dir}/io.max`), "259:0 rbps=125000000 wbps=125000000");
    assert.deepEqual(cgroup.procsFiles(), [`${dir}/cgroup.procs`]);
    assert.equal(cgroup.enforceable(["259:0"]).bandwidthWrite.enforced, true);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cgroup v2 backend reads swap traffic from memory.stat and PSI per cgroup", async () => {
  const { root, layout } = await fakeHierarchy();
  try {
    const cgroup = await CgroupV2.create(layout, "app");
    const dir = `${root}/spirit/app`;
    await Deno.writeTextFile(`${dir}/memory.current`, "1048576\n");
    await Deno.writeTextFile(`${dir}/memory.peak`, "2097152\n");
    await Deno.writeTextFile(`${dir}/memory.swap.current`, "4096\n");
    await Deno.writeTextFile(
      `${dir}/memory.stat`,
      "anon 1\npgmajfault 3\npswpin 10\npswpout 20\nworkingset_refault_anon 4\n" +
        "workingset_refault_file 1\nworkingset_activate_anon 2\nworkingset_activate_file 0\n",
    );
    await Deno.writeTextFile(`${dir}/io.stat`, "259:0 rbytes=40960 wbytes=81920 rios=10 wios=20\n");
    await Deno.writeTextFile(
      `${dir}/memory.pressure`,
      "some avg10=2.00 avg60=0 avg300=0 total=5\nfull avg10=1.00 avg60=0 avg300=0 total=3\n",
    );
    const snapshot = await cgroup.readSnapshot(["259:0"]);
    assert.deepEqual(snapshot, {
      residentBytes: 1048576,
      peakResidentBytes: 2097152,
      swapBytes: 4096,
      majorFaults: 3,
      swapInBytes: 10 * 4096,
      swapOutBytes: 20 * 4096,
      swapDeviceBytes: new Map([["259:0", { readBytes: 40960, writeBytes: 81920 }]]),
      workingset: { refaultTotal: 5, activateTotal: 2 },
      ioReadBytes: 40960,
      ioWriteBytes: 81920,
      pressure: { someAvg10: 2, someTotalUs: 5, fullAvg10: 1, fullTotalUs: 3 },
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
