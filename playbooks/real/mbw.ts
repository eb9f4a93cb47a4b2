/**
 * Debian's mbw (memcpy between two 64 MiB arrays) under 64 MiB of cache: unmodified and
 * bandwidth-bound, but it reports one line per whole-array pass, several seconds apart once
 * swapped (about 9 s at 200 Mbps here), hence the long epochs. The mixed playbooks use the
 * scan program instead, which counts every MiB.
 *
 *   sudo deno task spirit run playbooks/real/mbw.ts --policy static
 */
import { definePlaybook } from "../../mod.ts";
import { mbwApp, realHosts } from "./_apps.ts";

export default definePlaybook({
  name: "real-mbw",
  description: "mbw's memcpy test, its arrays larger than its cache",
  hosts: realHosts({ cache: "64MiB", bandwidth: "200Mbps" }),
  apps: [mbwApp(64)],
  policy: "symbiosis",
  epoch: "20s",
  warmup: "20s",
  duration: "2m",
  output: "results",
});
