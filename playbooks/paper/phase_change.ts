/**
 * Apps that change phase mid-run: two phased apps in opposite phases (one starts cache-bound,
 * a skewed key-value store, while the other streams, bandwidth-bound; every minute both switch)
 * beside a steady skewed key-value store. The market must move cache and bandwidth between them
 * at every switch; the comparison reports how long that takes (adaptation time: from the change
 * until the app's allocation stays within 5 % of node capacity of its new steady state; target
 * 3 epochs, where the paper reports minutes: about 5 to detect and 5 to converge).
 *
 * Scaled from the paper (scale.ts, everything ÷ 160): one VM of 10 GiB and 7.5 Gbps becomes
 * 64 MiB and 46.875 Mbps; each phased app's dataset is 2.5 × the 10 GiB cache (160 MiB here: an
 * 80 MiB key-value half and an 80 MiB scan half), the steady store's 1.5 × (96 MiB). Epochs are
 * 5 s and phases 1 min (12 epochs), where the paper's epochs are 30 s.
 *
 *   deno task spirit compare playbooks/paper/phase_change.ts --simulate
 *   deno task spirit compare playbooks/paper/phase_change.ts --duration 3m    # for real
 * @module
 */
import { definePlaybook } from "../../mod.ts";
import { PAPER_RUN, paperApps, paperComputeNode } from "./scale.ts";

export default definePlaybook({
  name: "phase_change",
  description: "Two phased apps switching between cache-bound and bandwidth-bound behaviour in " +
    "opposite phases, beside a steady key-value store (scaled ÷ 160 from the paper's VM)",
  hosts: {
    mem: { role: "memory", memserver: { capacity: "512MiB", transport: "tcp", port: 0 } },
    node: paperComputeNode("mem"),
  },
  apps: [
    paperApps.phased("flip", "node", "kv"),
    paperApps.phased("flop", "node", "stream"),
    paperApps.kvs("kvs", "node"),
  ],
  ...PAPER_RUN,
  duration: "5m",
});
