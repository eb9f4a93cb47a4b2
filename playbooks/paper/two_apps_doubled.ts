/**
 * two_apps.ts with the cache doubled: the paper's 20 GiB per VM (21.333 MiB here), the same
 * bandwidth and apps. Compare its STREAM gain with two_apps.ts's:
 *
 *   deno task spirit compare playbooks/paper/two_apps_doubled.ts --simulate
 * @module
 */
import { definePlaybook } from "../../mod.ts";
import { PAPER_NODE } from "./scale.ts";
import { twoAppsSpec } from "./two_apps.ts";

export default definePlaybook(
  twoAppsSpec({ name: "two_apps_doubled", cacheGiB: PAPER_NODE.doubledCacheGiB }),
);
