/**
 * Three unmodified programs on one compute node: memcached and redis (cache-sensitive, zipfian
 * clients, about 140 MiB of data each) and the scan program (bandwidth-bound, 256 MiB),
 * sharing 288 MiB of cache and 240 Mbps of remote bandwidth (80 Mbps each at the equal split, so
 * the throttles, not the machine's swap path, bound the programs; see mix2.ts).
 *
 *   sudo deno task spirit run playbooks/real/mix3.ts --policy static
 *   sudo deno task spirit run playbooks/real/mix3.ts --policy symbiosis
 */
import { definePlaybook } from "../../mod.ts";
import { memcachedApp, realHosts, redisApp, scanApp } from "./_apps.ts";

export default definePlaybook({
  name: "real-mix3",
  description: "memcached, redis and a bandwidth-bound scan sharing one node",
  hosts: realHosts({ cache: "288MiB", bandwidth: "240Mbps" }),
  apps: [
    memcachedApp({ keys: 120_000, valueSize: "1KiB" }),
    redisApp({ keys: 100_000, valueSize: "1KiB" }),
    scanApp(256),
  ],
  policy: "symbiosis",
  epoch: "5s",
  warmup: "30s",
  duration: "4m",
  output: "results",
});
