import assert from "node:assert/strict";
import { PlaybookError } from "./errors.ts";
import { REFUSED_SSH_OPTIONS } from "./ssh_options.ts";
import { validatePlaybook } from "./validate.ts";

function withSshOptions(options: Record<string, string>): unknown {
  return {
    name: "ssh-options",
    hosts: {
      mem: { role: "memory", ssh: { host: "10.0.0.2", options }, memserver: { capacity: "1GiB" } },
      node: { role: "compute", memoryNode: "mem", cache: "64MiB", bandwidth: "1Gbps" },
    },
    apps: [{ name: "kv", host: "node", workload: { kind: "kv", dataset: "64MiB" } }],
  };
}

function issues(options: Record<string, string>): Array<{ path: string; message: string }> {
  try {
    validatePlaybook(withSshOptions(options));
  } catch (error) {
    assert.ok(error instanceof PlaybookError, String(error));
    return [...error.issues];
  }
  return [];
}

Deno.test("ssh options that weaken host-key checking are refused, naming the option", () => {
  const found = issues({ StrictHostKeyChecking: "no" });
  assert.equal(found.length, 1);
  assert.equal(found[0]?.path, "hosts.mem.ssh.options.StrictHostKeyChecking");
  assert.match(found[0]?.message ?? "", /ssh option StrictHostKeyChecking is refused/);
  assert.match(found[0]?.message ?? "", /ssh\.strictHostKeyChecking/);
});

Deno.test("ssh option names are refused whatever their case", () => {
  const found = issues({ userknownhostsfile: "/dev/null", CONTROLPATH: "/tmp/x" });
  assert.deepEqual(found.map((i) => i.path).sort(), [
    "hosts.mem.ssh.options.CONTROLPATH",
    "hosts.mem.ssh.options.userknownhostsfile",
  ]);
});

Deno.test("every refused ssh option is refused by validation", () => {
  for (const name of Object.keys(REFUSED_SSH_OPTIONS)) {
    const found = issues({ [name]: "x" });
    assert.equal(found.length, 1, `${name}: ${JSON.stringify(found)}`);
    assert.match(found[0]?.message ?? "", new RegExp(`ssh option ${name} is refused`));
  }
});

Deno.test("other ssh options still pass validation", () => {
  const options = { ProxyJump: "bastion", Compression: "yes", CheckHostIP: "yes" };
  const playbook = validatePlaybook(withSshOptions(options));
  assert.deepEqual(playbook.hosts.mem?.ssh?.options, options);
});
