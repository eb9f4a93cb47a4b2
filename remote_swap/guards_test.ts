import assert from "node:assert/strict";
import { cgroupMountPoints } from "./guards.ts";

Deno.test("cgroup mount points: the root of every v1 and v2 hierarchy, not bind-mounted subtrees", () => {
  const mountinfo = [
    "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
    "31 25 0:27 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio",
    "32 25 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
    "33 25 0:26 /docker/abc /mnt/inner rw - cgroup cgroup rw,memory",
    "34 25 0:29 / /tmp rw - tmpfs tmpfs rw",
  ].join("\n");
  assert.deepEqual(cgroupMountPoints(mountinfo), [
    "/sys/fs/cgroup/memory",
    "/sys/fs/cgroup/blkio",
    "/sys/fs/cgroup/unified",
  ]);
});
