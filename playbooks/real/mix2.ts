/**
 * Two unmodified programs on one compute node: memcached (cache-sensitive: a zipfian client over
 * about 140 MiB of items, more than its equal split of the cache and less than the node's) and
 * the scan program (bandwidth-bound: 256 MiB swept over and over), sharing 192 MiB of cache and
 * 160 Mbps of remote bandwidth: 80 Mbps each at the equal split, below what this machine's swap
 * path delivers to the two together (about 200 Mbps of swap-ins under load), so the throttles,
 * and therefore the allocation, bound both programs.
 *
 *   sudo deno task spirit run playbooks/real/mix2.ts --policy static
 *   sudo deno task spirit run playbooks/real/mix2.ts --policy symbiosis
 */
import { definePlaybook } from "../../mod.ts";
import { memcachedApp, realHosts, scanApp } from "./_apps.ts";

export default definePlaybook({
  name: "real-mix2",
  description: "memcached and a bandwidth-bound scan sharing one node",
  hosts: realHosts({ cache: "192MiB", bandwidth: "160Mbps" }),
  apps: [memcachedApp({ keys: 120_000, valueSize: "1KiB" }), scanApp(256)],
  policy: "symbiosis",
  epoch: "5s",
  warmup: "30s",
  duration: "4m",
  output: "results",
});
