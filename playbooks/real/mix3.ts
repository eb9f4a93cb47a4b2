/**
 * Three unmodified programs on one compute node: memcached and redis (cache-sensitive, zipfian
 * clients, about 230 and 280 MiB of data) and the scan program (bandwidth-bound, 256 MiB),
 * sharing 288 MiB of cache and 600 Mbps of remote bandwidth.
 *
 *   sudo deno task spirit run playbooks/real/mix3.ts --policy static
 *   sudo deno task spirit run playbooks/real/mix3.ts --policy symbiosis
 */
import { definePlaybook } from "../../mod.ts";
import { memcachedApp, realHosts, redisApp, scanApp } from "./_apps.ts";

export default definePlaybook({
  name: "real-mix3",
  description: "memcached, redis and a bandwidth-bound scan sharing one node",
  hosts: realHosts({ cache: "288MiB", bandwidth: "600Mbps" }),
  apps: [
    memcachedApp({ keys: 200_000, valueSize: "1KiB" }),
    redisApp({ keys: 200_000, valueSize: "1KiB" }),
    scanApp(256),
  ],
  policy: "symbiosis",
  epoch: "5s",
  warmup: "30s",
  duration: "2m",
  output: "results",
});
