import assert from "node:assert/strict";
import type { HostFacts, SwapDeviceFacts } from "../../agent/protocol.ts";
import { validatePlaybook } from "../playbook/validate.ts";
import type { ComputeHost, Playbook } from "../playbook/types.ts";
import {
  rdmaReachProblems,
  remoteSwapFindings,
  remoteSwapOf,
  remoteSwapPriority,
} from "./check_remote_memory.ts";

/** Facts of a well-prepared compute host; tests override what they are about. */
function facts(overrides: Partial<HostFacts> = {}): HostFacts {
  const enforced = { enforced: true as const, via: "test" };
  return {
    protocolVersion: 1,
    agentVersion: "0.1.0",
    hostname: "cn1",
    kernel: { release: "6.1.0", version: "#1 SMP" },
    arch: "x86_64",
    cpus: 2,
    memoryBytes: 24 * 2 ** 30,
    pageSizeBytes: 4096,
    cgroup: {
      layout: 1,
      memory: { version: 1, mount: "/sys/fs/cgroup/memory" },
      io: { version: 1, mount: "/sys/fs/cgroup/blkio" },
      v1Controllers: ["blkio", "memory"],
      v2Controllers: [],
      memswAccounting: true,
    },
    psi: false,
    swapDevices: [],
    rdmaDevices: [],
    hardwarePerfCounters: false,
    softwarePerfEvents: true,
    cgroupEnforcement: { cache: enforced, bandwidthRead: enforced, bandwidthWrite: enforced },
    remoteSwapSupport: {
      devFuse: true,
      loopControl: "usable",
      fusermount3: "/usr/bin/fusermount3",
      zswapEnabled: false,
    },
    ...overrides,
  };
}

function swap(path: string, priority: number): SwapDeviceFacts {
  return { path, type: "partition", sizeBytes: 2 ** 30, usedBytes: 0, priority, device: "8:0" };
}

function playbook(
  options: { transport?: "tcp" | "rdma" | "auto"; app?: "workload" | "command" } = {},
): Playbook {
  const app = options.app === "command"
    ? { name: "cmd", host: "cn1", command: { argv: ["sleep", "1"] } }
    : { name: "kv", host: "cn1", workload: { kind: "kv", dataset: "64MiB" } };
  return validatePlaybook({
    name: "check",
    hosts: {
      mem: {
        role: "memory",
        memserver: { capacity: "1GiB", transport: options.transport ?? "tcp" },
      },
      cn1: { role: "compute", memoryNode: "mem", cache: "256MiB", bandwidth: "1Gbps" },
    },
    apps: [app],
    duration: "1m",
  });
}

/** The compute host with a `remoteSwap` field, as the remote-swap work adds it to playbooks. */
function withRemoteSwap(pb: Playbook, remoteSwap: unknown): Playbook {
  const host = pb.hosts.cn1 as ComputeHost;
  return { ...pb, hosts: { ...pb.hosts, cn1: { ...host, remoteSwap } as ComputeHost } };
}

const cn1 = (pb: Playbook) => pb.hosts.cn1 as ComputeHost;

Deno.test("remoteSwapOf gives the playbook's resolved remoteSwap", () => {
  assert.equal(remoteSwapOf(cn1(playbook())), undefined);
  const spec = {
    name: "check",
    hosts: {
      mem: { role: "memory", memserver: { capacity: "32GiB", transport: "tcp" } },
      cn1: {
        role: "compute",
        memoryNode: "mem",
        cache: "256MiB",
        bandwidth: "1Gbps",
        remoteSwap: { size: "16GiB" },
      },
    },
    apps: [{ name: "kv", host: "cn1", workload: { kind: "kv", dataset: "64MiB" } }],
    duration: "1m",
  };
  assert.deepEqual(remoteSwapOf(cn1(validatePlaybook(spec))), {
    sizeBytes: 2 ** 34,
    priority: 32000,
  });
});

Deno.test("remote swap on a prepared host finds nothing", () => {
  const pb = withRemoteSwap(playbook(), { sizeBytes: 2 ** 30 });
  assert.deepEqual(remoteSwapFindings(pb, cn1(pb), facts()), { problems: [], warnings: [] });
});

Deno.test("remote swap without /dev/fuse or loop devices is a problem", () => {
  const pb = withRemoteSwap(playbook(), { sizeBytes: 2 ** 30 });
  const missing = facts({
    remoteSwapSupport: {
      devFuse: false,
      loopControl: "absent",
      fusermount3: null,
      zswapEnabled: null,
    },
  });
  assert.deepEqual(remoteSwapFindings(pb, cn1(pb), missing).problems, [
    "remoteSwap needs /dev/fuse, which is missing (modprobe fuse)",
    "remoteSwap needs loop devices: /dev/loop-control is missing (modprobe loop)",
  ]);
  const notRoot = facts({
    remoteSwapSupport: { ...facts().remoteSwapSupport, loopControl: "no-permission" },
  });
  assert.deepEqual(remoteSwapFindings(pb, cn1(pb), notRoot).problems, [
    "remoteSwap needs root: /dev/loop-control cannot be opened for reading and writing",
  ]);
});

Deno.test("a missing fusermount3 is reported in facts, never a problem (spirit mounts itself)", () => {
  const pb = withRemoteSwap(playbook(), { sizeBytes: 2 ** 30 });
  const noTools = facts({ remoteSwapSupport: { ...facts().remoteSwapSupport, fusermount3: null } });
  assert.deepEqual(remoteSwapFindings(pb, cn1(pb), noTools), { problems: [], warnings: [] });
});

Deno.test("enabled zswap is a warning for remote swap and for command apps", () => {
  const zswap = facts({ remoteSwapSupport: { ...facts().remoteSwapSupport, zswapEnabled: true } });
  const remote = withRemoteSwap(playbook(), { sizeBytes: 2 ** 30 });
  const [warning] = remoteSwapFindings(remote, cn1(remote), zswap).warnings;
  assert.match(warning ?? "", /zswap is enabled .* bypassing the remote swap device and its/);
  const command = playbook({ app: "command" });
  assert.match(
    remoteSwapFindings(command, cn1(command), zswap).warnings[0] ?? "",
    /bypassing the swap device/,
  );
  const workloadsOnly = playbook();
  assert.deepEqual(remoteSwapFindings(workloadsOnly, cn1(workloadsOnly), zswap).warnings, []);
});

Deno.test("swap devices at or above the remote device's priority are warnings", () => {
  const pb = withRemoteSwap(playbook(), { sizeBytes: 2 ** 30, priority: 10 });
  const host = facts({
    swapDevices: [swap("/dev/sda2", 20), swap("/dev/sdb1", 10), swap("/swapfile", -2)],
  });
  assert.deepEqual(remoteSwapFindings(pb, cn1(pb), host).warnings, [
    "swap device /dev/sda2 (priority 20) is used before the remote swap device (priority 10, " +
    "from remoteSwap.priority): set remoteSwap.priority above 20 or swapoff /dev/sda2",
    "swap device /dev/sdb1 (priority 10) shares pages equally with the remote swap device " +
    "(priority 10, from remoteSwap.priority): set remoteSwap.priority above 10 or swapoff " +
    "/dev/sdb1",
  ]);
});

Deno.test("without remoteSwap.priority every active swap device comes first", () => {
  const pb = withRemoteSwap(playbook(), { sizeBytes: 2 ** 30 });
  const host = facts({ swapDevices: [swap("/swapfile", -2), swap("/dev/zram0", 100)] });
  assert.equal(remoteSwapPriority({}, host), -3);
  assert.equal(remoteSwapPriority({}, facts()), -2);
  const warnings = remoteSwapFindings(pb, cn1(pb), host).warnings;
  assert.equal(warnings.length, 2);
  assert.match(warnings[0] ?? "", /priority -3, the kernel's default for a device enabled last/);
});

Deno.test("a compute host without an RDMA device cannot reach an RDMA memory server", () => {
  const rdma = { mem: facts({ rdmaDevices: ["mlx5_0"] }), cn1: facts() };
  assert.deepEqual(rdmaReachProblems(playbook({ transport: "rdma" }), rdma), [{
    host: "cn1",
    problem: "memory node mem serves RDMA (transport rdma) but this host has no RDMA device to " +
      'reach it; set its transport to "tcp"',
  }]);
  assert.match(
    rdmaReachProblems(playbook({ transport: "auto" }), rdma)[0]?.problem ?? "",
    /transport auto, it has mlx5_0/,
  );
});

Deno.test("RDMA reach is fine with devices on both sides, TCP, or no remote-memory users", () => {
  const both = { mem: facts({ rdmaDevices: ["mlx5_0"] }), cn1: facts({ rdmaDevices: ["mlx5_1"] }) };
  assert.deepEqual(rdmaReachProblems(playbook({ transport: "rdma" }), both), []);
  const memOnly = { mem: facts({ rdmaDevices: ["mlx5_0"] }), cn1: facts() };
  assert.deepEqual(rdmaReachProblems(playbook({ transport: "tcp" }), memOnly), []);
  assert.deepEqual(
    rdmaReachProblems(playbook({ transport: "auto" }), { mem: facts(), cn1: facts() }),
    [],
    "auto without a device on the memory node serves TCP",
  );
  assert.deepEqual(
    rdmaReachProblems(playbook({ transport: "rdma", app: "command" }), memOnly),
    [],
    "command apps without remoteSwap do not use the memory server",
  );
});
