/**
 * redis-server (Debian, no persistence) driven by spirit loadgen on one compute node: about
 * 280 MiB of data (200,000 keys of 1 KiB, zipf 0.99) under 128 MiB of cache.
 *
 *   sudo deno task spirit run playbooks/real/redis.ts --policy static
 */
import { definePlaybook } from "../../mod.ts";
import { realHosts, redisApp } from "./_apps.ts";

export default definePlaybook({
  name: "real-redis",
  description: "redis with a zipfian client, its data set larger than its cache",
  hosts: realHosts({ cache: "128MiB", bandwidth: "200Mbps" }),
  apps: [redisApp({ keys: 200_000, valueSize: "1KiB" })],
  policy: "symbiosis",
  epoch: "5s",
  warmup: "20s",
  duration: "60s",
  output: "results",
});
