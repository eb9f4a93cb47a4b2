import assert from "node:assert/strict";
import { validatePlaybook } from "../../controller/playbook/validate.ts";
import { CLUSTER_HOSTS, clusterSpec, readClusterHosts } from "./cluster_24.ts";

const ssh = (host: string) => ({ host, user: "spirit", identityFile: "/keys/id" });

Deno.test("cluster_24 runs every host on this machine without a hosts file", () => {
  const playbook = validatePlaybook(clusterSpec(null));
  assert.deepEqual(Object.keys(playbook.hosts), [...CLUSTER_HOSTS]);
  for (const host of Object.values(playbook.hosts)) assert.equal(host.ssh, null);
  assert.equal(playbook.apps.length, 24);
  for (const node of ["cn1", "cn2", "cn3", "cn4"]) {
    assert.equal(playbook.apps.filter((a) => a.host === node).length, 6);
  }
});

Deno.test("cluster_24 reaches each host over SSH as its hosts file says", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spirit-cluster-hosts-" });
  try {
    const file = `${dir}/hosts.json`;
    const entries = Object.fromEntries(
      CLUSTER_HOSTS.map((name, i) => [name, ssh(`10.9.0.${10 + i}`)]),
    );
    await Deno.writeTextFile(file, JSON.stringify(entries));
    const playbook = validatePlaybook(clusterSpec(readClusterHosts(file)));
    assert.equal(playbook.hosts.mem?.ssh?.host, "10.9.0.10");
    assert.equal(playbook.hosts.cn4?.ssh?.host, "10.9.0.14");
    assert.equal(playbook.hosts.cn4?.ssh?.identityFile, "/keys/id");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cluster_24 names a hosts file's missing hosts, and a bad ssh entry's field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spirit-cluster-hosts-" });
  try {
    const file = `${dir}/hosts.json`;
    await Deno.writeTextFile(file, JSON.stringify({ mem: ssh("a"), cn1: ssh("b"), cn2: [] }));
    assert.throws(() => readClusterHosts(file), /missing or not an object: cn2, cn3, cn4/);
    await Deno.writeTextFile(file, "{");
    assert.throws(() => readClusterHosts(file), /cannot read the hosts file/);
    const entries = Object.fromEntries(CLUSTER_HOSTS.map((name) => [name, ssh("h")]));
    await Deno.writeTextFile(file, JSON.stringify({ ...entries, cn2: { host: "h", port: 0 } }));
    assert.throws(
      () => validatePlaybook(clusterSpec(readClusterHosts(file))),
      /hosts\.cn2\.ssh\.port/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
