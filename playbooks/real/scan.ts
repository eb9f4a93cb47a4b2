/**
 * The bandwidth-bound scan program (playbooks/real/scan.c, built by setup.ts) sweeping 256 MiB
 * under 128 MiB of cache: every pass swaps the array in, at the rate its bandwidth allows.
 *
 *   sudo deno task spirit run playbooks/real/scan.ts --policy static
 */
import { definePlaybook } from "../../mod.ts";
import { realHosts, scanApp } from "./_apps.ts";

export default definePlaybook({
  name: "real-scan",
  description: "A sequential scan larger than its cache: bound by remote bandwidth",
  hosts: realHosts({ cache: "128MiB", bandwidth: "200Mbps" }),
  apps: [scanApp(256)],
  policy: "symbiosis",
  epoch: "5s",
  warmup: "10s",
  duration: "60s",
  output: "results",
});
