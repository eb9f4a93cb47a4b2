/**
 * Two unmodified programs on one compute node: memcached (cache-sensitive: a zipfian client
 * over about 230 MiB of items) and the scan program (bandwidth-bound: 256 MiB swept over and
 * over), sharing 192 MiB of cache and 400 Mbps of remote bandwidth.
 *
 *   sudo deno task spirit run playbooks/real/mix2.ts --policy static
 *   sudo deno task spirit run playbooks/real/mix2.ts --policy symbiosis
 */
import { definePlaybook } from "../../mod.ts";
import { memcachedApp, realHosts, scanApp } from "./_apps.ts";

export default definePlaybook({
  name: "real-mix2",
  description: "memcached and a bandwidth-bound scan sharing one node",
  hosts: realHosts({ cache: "192MiB", bandwidth: "400Mbps" }),
  apps: [memcachedApp({ keys: 200_000, valueSize: "1KiB" }), scanApp(256)],
  policy: "symbiosis",
  epoch: "5s",
  warmup: "30s",
  duration: "2m",
  output: "results",
});
