/**
 * An example playbook for a real cluster: one memory node serving two compute nodes over
 * RDMA (TCP where no RDMA device exists), far-memory workloads plus one unmodified program
 * enforced with cgroups and swap to a remote-memory block device.
 *
 * Check it:  deno task spirit check playbooks/cluster_example.ts
 * Run it:    deno task spirit run playbooks/cluster_example.ts --policy static --out results/static
 *            deno task spirit run playbooks/cluster_example.ts --policy symbiosis
 * Or:        deno run -A playbooks/cluster_example.ts
 * @module
 */
import { definePlaybook } from "../controller/playbook/mod.ts";

/** SSH settings shared by every host: a dedicated key and a pinned known-hosts file. */
const ssh = {
  user: "spirit",
  identityFile: "~/.ssh/spirit_cluster_ed25519",
  knownHostsFile: "~/.ssh/spirit_cluster_known_hosts",
  connectTimeout: "5s",
} as const;

export default definePlaybook({
  name: "cluster-example",
  description: "Two compute nodes sharing one memory node; kv, stream and redis per node",
  hosts: {
    mem1: {
      role: "memory",
      ssh: { ...ssh, host: "mem1.cluster.example" },
      memserver: { capacity: "64GiB", transport: "auto", port: 7070, address: "192.168.50.10" },
    },
    cn1: {
      role: "compute",
      ssh: { ...ssh, host: "cn1.cluster.example" },
      memoryNode: "mem1",
      cache: "10GiB",
      bandwidth: "7.5Gbps",
    },
    cn2: {
      role: "compute",
      // A jump host, for nodes only reachable through a bastion.
      ssh: {
        ...ssh,
        host: "cn2.cluster.example",
        options: { ProxyJump: "bastion.cluster.example" },
      },
      memoryNode: "mem1",
      cache: "10GiB",
      bandwidth: "7.5Gbps",
    },
  },
  apps: [
    {
      name: "kv-hot",
      host: "cn1",
      workload: { kind: "kv", dataset: "12GiB", zipf: 0.99, valueSize: "1KiB", concurrency: 8 },
    },
    { name: "kv-mild", host: "cn1", workload: { kind: "kv", dataset: "12GiB", zipf: 0.6 } },
    { name: "scan", host: "cn1", workload: { kind: "stream", dataset: "8GiB" } },
    {
      name: "phases",
      host: "cn2",
      workload: {
        kind: "phased",
        dataset: "16GiB",
        phases: [{ kind: "kv", duration: "2m" }, { kind: "stream", duration: "2m" }],
        zipf: 0.9,
      },
    },
    {
      name: "redis",
      host: "cn2",
      command: {
        argv: ["redis-server", "--port", "6390", "--save", "", "--maxmemory", "16gb"],
        cgroup: { swapDevice: "/dev/nbd0" },
        throughput: {
          kind: "command",
          argv: [
            "sh",
            "-c",
            "redis-cli -p 6390 info stats | sed -n 's/^total_commands_processed://p'",
          ],
        },
      },
      limits: { minCache: "1GiB", minBandwidth: "500Mbps" },
    },
  ],
  policy: "symbiosis",
  epoch: "30s",
  warmup: "2m",
  duration: "30m",
  output: "results",
});
