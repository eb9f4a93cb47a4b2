/**
 * memcached (Debian) driven by spirit loadgen on one compute node: about 230 MiB of items
 * (200,000 keys of 1 KiB, zipf 0.99) under 128 MiB of cache; the rest swaps.
 *
 *   sudo deno run -A playbooks/real/setup.ts up          # once: packages, loop-device swap
 *   sudo deno task spirit run playbooks/real/memcached.ts --policy static
 */
import { definePlaybook } from "../../mod.ts";
import { memcachedApp, realHosts } from "./_apps.ts";

export default definePlaybook({
  name: "real-memcached",
  description: "memcached with a zipfian client, its data set larger than its cache",
  hosts: realHosts({ cache: "128MiB", bandwidth: "200Mbps" }),
  apps: [memcachedApp({ keys: 200_000, valueSize: "1KiB" })],
  policy: "symbiosis",
  epoch: "5s",
  warmup: "20s",
  duration: "60s",
  output: "results",
});
