import assert from "node:assert/strict";
import { loadPlaybook } from "./load.ts";

const EXAMPLE = new URL("../../playbooks/cluster_example.ts", import.meta.url).pathname;

Deno.test("the cluster example playbook validates without touching a host", async () => {
  const playbook = await loadPlaybook(EXAMPLE);
  assert.equal(playbook.name, "cluster-example");
  assert.deepEqual(Object.keys(playbook.hosts), ["mem1", "cn1", "cn2"]);
  assert.equal(playbook.apps.length, 5);
  const cn2 = playbook.hosts.cn2;
  assert.equal(cn2?.ssh?.options.ProxyJump, "bastion.cluster.example");
  assert.equal(playbook.epochMs, 30_000);
});

Deno.test("the cluster example playbook accepts command-line overrides", async () => {
  const playbook = await loadPlaybook(EXAMPLE, { policy: "static", duration: "10m" });
  assert.equal(playbook.policy, "static");
  assert.equal(playbook.durationMs, 600_000);
});
