/**
 * The paper's two-app experiment: a streaming scan (STREAM) beside a skewed key-value store
 * (Meta KVS) on one compute node, at a scarce cache. two_apps_doubled.ts is the same with the
 * cache doubled (the paper's 10 GiB versus 20 GiB comparison: STREAM's gain over static shrinks
 * from 21.6 % to 7.6 %).
 *
 * Scaled from the paper (scale.ts: epochs ÷ 6, rates ÷ 160, sizes ÷ 960, so a node fills 2.6
 * times its cache per epoch, as there): one compute VM of 10 GiB cache and 7.5 Gbps becomes
 * 10.667 MiB and 46.875 Mbps; the scan's dataset is 2.5 × the 10 GiB cache (26.667 MiB here:
 * larger than even the doubled cache), the store's 1.5 × (16 MiB), so the two apps' data is 4 ×
 * the scarce cache and 2 × the doubled one. Epochs are 5 s instead of the paper's 30 s (the apps
 * here are as fast as there).
 *
 *   deno task spirit compare playbooks/paper/two_apps.ts --simulate
 *   deno task spirit compare playbooks/paper/two_apps.ts --repeat 3        # for real, ~12 min
 *   deno run -A playbooks/paper/two_apps.ts --policy static                # one run
 * @module
 */
import { definePlaybook, type PlaybookSpec } from "../../mod.ts";
import { PAPER_NODE, PAPER_RUN, paperApps, paperComputeNode } from "./scale.ts";

/** The two-app playbook at a cache of `cacheGiB` (the paper's GiB, scaled). */
export function twoAppsSpec(options: { name: string; cacheGiB: number }): PlaybookSpec {
  return {
    name: options.name,
    description: `STREAM-like scan and a skewed key-value store on one node ` +
      `(the paper's ${options.cacheGiB} GiB cache and 7.5 Gbps, scaled: scale.ts)`,
    hosts: {
      mem: { role: "memory", memserver: { capacity: "128MiB", transport: "tcp", port: 0 } },
      node: paperComputeNode("mem", options.cacheGiB),
    },
    apps: [paperApps.scan("stream", "node"), paperApps.kvs("kvs", "node")],
    ...PAPER_RUN,
    duration: "3m",
  };
}

export default definePlaybook(twoAppsSpec({ name: "two_apps", cacheGiB: PAPER_NODE.cacheGiB }));
