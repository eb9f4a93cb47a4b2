/**
 * The embedded default: everything on this machine, no root, no SSH. A memory server on
 * loopback, one compute node, three far-memory workloads with different needs: a skewed
 * key-value store (gains a lot from cache), a mildly skewed one, and a streaming scan (gains
 * only from bandwidth). Cache and bandwidth, not CPU, bound them on a 2-core machine.
 *
 *   deno task demo                                  # = deno run -A playbooks/local.ts
 *   deno run -A playbooks/local.ts --policy static  # the baseline
 */
import { definePlaybook } from "../mod.ts";

export default definePlaybook({
  name: "local",
  description: "Three far-memory workloads sharing one node's cache and remote bandwidth",
  hosts: {
    mem: { role: "memory", memserver: { capacity: "768MiB", transport: "tcp", port: 0 } },
    node: { role: "compute", memoryNode: "mem", cache: "64MiB", bandwidth: "120Mbps" },
  },
  apps: [
    { name: "kv-skewed", host: "node", workload: { kind: "kv", dataset: "192MiB", zipf: 0.99 } },
    { name: "kv-mild", host: "node", workload: { kind: "kv", dataset: "192MiB", zipf: 0.6 } },
    { name: "scan", host: "node", workload: { kind: "stream", dataset: "192MiB" } },
  ],
  policy: "symbiosis",
  epoch: "5s",
  warmup: "15s",
  duration: "2m",
  output: "results",
});
