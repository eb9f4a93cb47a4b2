/**
 * The paper's per-VM mix: six apps on one compute node (three STREAM instances, Meta KVS,
 * a social-network service and DLRM), here three scans, a skewed key-value store (zipf 0.99),
 * a mildly skewed one (zipf 0.6) and a phased app alternating kv and scan behaviour every
 * minute (the paper's apps whose needs change over time). cluster_24.ts runs this mix on four
 * nodes.
 *
 * Scaled from the paper (scale.ts: epochs ÷ 6, rates ÷ 160, sizes ÷ 960, so a node fills 2.6
 * times its cache per epoch, as there): 10 GiB cache and 7.5 Gbps per VM become 10.667 MiB and
 * 46.875 Mbps; datasets are multiples of the 10 GiB cache (scans and the phased app 2.5 ×, the
 * stores 1.5 ×: 26.667 and 16 MiB here), so the six apps' data is 13 × the node's cache. Epochs
 * are 5 s (the paper's 30 s).
 *
 *   deno task spirit compare playbooks/paper/six_apps.ts --simulate
 *   deno task spirit compare playbooks/paper/six_apps.ts --duration 2m
 * @module
 */
import { definePlaybook, type PlaybookSpec } from "../../mod.ts";
import { PAPER_RUN, paperApps, paperComputeNode } from "./scale.ts";

/** The six apps of one node, named with `suffix` (e.g. "-1") so several nodes can run them. */
export function sixApps(host: string, suffix = ""): NonNullable<PlaybookSpec["apps"]> {
  return [
    paperApps.scan(`stream1${suffix}`, host),
    paperApps.scan(`stream2${suffix}`, host),
    paperApps.scan(`stream3${suffix}`, host),
    paperApps.kvs(`kvs${suffix}`, host),
    paperApps.social(`social${suffix}`, host),
    paperApps.phased(`phased${suffix}`, host, "kv"),
  ];
}

export default definePlaybook({
  name: "six_apps",
  description: "Three scans, a skewed and a mild key-value store and a phased app on one node " +
    "(the paper's per-VM mix, scaled: scale.ts)",
  hosts: {
    mem: { role: "memory", memserver: { capacity: "256MiB", transport: "tcp", port: 0 } },
    node: paperComputeNode("mem"),
  },
  apps: sixApps("node"),
  ...PAPER_RUN,
  duration: "4m",
});
