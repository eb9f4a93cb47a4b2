import assert from "node:assert/strict";
import { chooseLayout, parseCgroupMounts } from "./mounts.ts";

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw`;

Deno.test("parseCgroupMounts finds v1 controllers and the v2 mount", () => {
  const mounts = parseCgroupMounts(HYBRID);
  assert.deepEqual(mounts.map((m) => [m.version, m.mountPoint, m.controllers]), [
    [1, "/sys/fs/cgroup/memory", ["memory"]],
    [1, "/sys/fs/cgroup/blkio", ["blkio"]],
    [1, "/sys/fs/cgroup/systemd", []],
    [2, "/sys/fs/cgroup/unified", []],
  ]);
});

Deno.test("chooseLayout uses v1 memory and blkio when v2 has no memory controller", () => {
  const layout = chooseLayout(parseCgroupMounts(HYBRID));
  assert.equal(layout.memory?.mountPoint, "/sys/fs/cgroup/memory");
  assert.equal(layout.io?.mountPoint, "/sys/fs/cgroup/blkio");
});

Deno.test("chooseLayout prefers v2 when its root offers memory and io", () => {
  const mounts = parseCgroupMounts("30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate");
  mounts[0]?.controllers.push("cpu", "io", "memory");
  const layout = chooseLayout(mounts);
  assert.equal(layout.memory?.version, 2);
  assert.equal(layout.io?.mountPoint, "/sys/fs/cgroup");
});
