/**
 * Apps that change phase mid-run: two phased apps in opposite phases (one starts cache-bound,
 * a skewed key-value store, while the other streams, bandwidth-bound; every minute both switch)
 * beside a steady skewed key-value store. The market must move cache and bandwidth between them
 * at every switch; the comparison reports how long that takes (adaptation time: from the change
 * until the app's allocation stays within 5 % of node capacity of its new steady state; target
 * 3 epochs, where the paper reports minutes: about 5 to detect and 5 to converge).
 *
 * Scaled from the paper (scale.ts: epochs ÷ 6, rates ÷ 160, sizes ÷ 960): one VM of 10 GiB
 * and 7.5 Gbps becomes 10.667 MiB and 46.875 Mbps; each phased app's dataset is 2.5 × the 10 GiB
 * cache (26.667 MiB here: a key-value half and a scan half), the steady store's 1.5 × (16 MiB).
 * Epochs are 5 s (the paper's 30 s) and phases 1 min (12 epochs). Sizes are scaled 6 times more
 * than rates so that, as in the paper, a node's bandwidth fills 2.6 times its cache per epoch:
 * that ratio sets how many epochs a new phase's cache takes to fill, so the adaptation time this
 * experiment measures. At sizes ÷ 160 (64 MiB, 0.44 of it per epoch) a switch into the key-value
 * phase took 4 or 5 epochs to settle; now every switch settles in 2 or 3 (README.md).
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
    "opposite phases, beside a steady key-value store (the paper's VM, scaled: scale.ts)",
  hosts: {
    mem: { role: "memory", memserver: { capacity: "128MiB", transport: "tcp", port: 0 } },
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
