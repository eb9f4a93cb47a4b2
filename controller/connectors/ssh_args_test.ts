import assert from "node:assert/strict";
import type { SshTarget } from "../playbook/types.ts";
import { classifySshFailure, DEFAULT_KEX_ALGORITHMS, sshArgs } from "./ssh_args.ts";

const target: SshTarget = {
  host: "10.0.0.2",
  strictHostKeyChecking: "yes",
  connectTimeoutMs: 2500,
  options: {},
};

Deno.test("sshArgs enables batch mode, strict host keys, timeouts and multiplexing", () => {
  const args = sshArgs(target, { controlPath: "/tmp/d/%C" });
  for (
    const o of [
      "BatchMode=yes",
      "StrictHostKeyChecking=yes",
      "ConnectTimeout=3",
      "ControlMaster=auto",
      "ControlPath=/tmp/d/%C",
      "ControlPersist=60",
    ]
  ) {
    assert.ok(args.includes(o), `${o} missing from ${args.join(" ")}`);
  }
  assert.ok(!args.includes("-p") && !args.includes("-l") && !args.includes("-F"));
});

Deno.test("sshArgs passes port, user, identity and known-hosts file when set", () => {
  const args = sshArgs({
    ...target,
    port: 2222,
    user: "ops",
    identityFile: "/k/id",
    knownHostsFile: "/k/known",
  }, { controlPath: "/c" });
  const joined = args.join(" ");
  assert.match(joined, /-p 2222/);
  assert.match(joined, /-l ops/);
  assert.match(joined, /-i \/k\/id -o IdentitiesOnly=yes/);
  assert.match(joined, /UserKnownHostsFile=\/k\/known/);
});

Deno.test("sshArgs puts spirit's own options before the playbook's, so spirit's win", () => {
  const args = sshArgs({
    ...target,
    options: { StrictHostKeyChecking: "no", ControlPath: "/elsewhere", Compression: "yes" },
  }, { controlPath: "/c" });
  const first = (key: string) => args.find((a) => a.startsWith(`${key}=`));
  assert.equal(first("StrictHostKeyChecking"), "StrictHostKeyChecking=yes");
  assert.equal(first("ControlPath"), "ControlPath=/c");
  assert.ok(args.indexOf("Compression=yes") > args.indexOf("ControlPath=/c"));
});

Deno.test("classifySshFailure tells transient from permanent connection failures", () => {
  assert.equal(
    classifySshFailure("ssh: connect to host 10.0.0.2 port 22: Connection refused"),
    "transient",
  );
  assert.equal(classifySshFailure("Host key verification failed."), "permanent");
  assert.equal(classifySshFailure("root@h: Permission denied (publickey)."), "permanent");
  assert.equal(classifySshFailure("something else"), "unknown");
});

Deno.test("sshArgs asks for X25519 key exchange unless the playbook chooses one", () => {
  assert.ok(
    sshArgs(target, { controlPath: "/c" }).includes(`KexAlgorithms=${DEFAULT_KEX_ALGORITHMS}`),
  );
  const chosen = sshArgs({
    ...target,
    options: { kexAlgorithms: "sntrup761x25519-sha512@openssh.com" },
  }, { controlPath: "/c" });
  assert.deepEqual(chosen.filter((a) => /^kexalgorithms=/i.test(a)), [
    "kexAlgorithms=sntrup761x25519-sha512@openssh.com",
  ]);
});
