import assert from "node:assert/strict";
import { PlaybookError } from "./errors.ts";
import { applyOverrides } from "./overrides.ts";
import { validatePlaybook } from "./validate.ts";

const base = validatePlaybook({
  name: "o",
  hosts: {
    mem: { role: "memory", memserver: { capacity: "64MiB" } },
    cn: { role: "compute", memoryNode: "mem", cache: "32MiB", bandwidth: "100Mbps" },
  },
  apps: [{ name: "s", host: "cn", workload: { kind: "stream", dataset: "8MiB" } }],
  epoch: "5s",
  duration: "1m",
  warmup: "10s",
});

Deno.test("applyOverrides replaces policy, epoch, duration and output", () => {
  const p = applyOverrides(base, { policy: "drf", epoch: "500ms", duration: "20s", out: "/tmp/r" });
  assert.deepEqual([p.policy, p.epochMs, p.durationMs, p.output], ["drf", 500, 20_000, "/tmp/r"]);
  assert.equal(base.policy, "symbiosis");
});

Deno.test("applyOverrides accepts duration forever", () => {
  assert.equal(applyOverrides(base, { duration: "forever" }).durationMs, null);
});

Deno.test("applyOverrides names the flag and the accepted policies", () => {
  assert.throws(() => applyOverrides(base, { policy: "best" }), (e) => {
    assert.ok(e instanceof PlaybookError);
    assert.equal(e.issues[0]?.path, "policy (--policy)");
    assert.match(e.issues[0]?.message ?? "", /"symbiosis", "static".*got "best"/);
    return true;
  });
});

Deno.test("applyOverrides re-checks warmup against an overridden duration", () => {
  assert.throws(
    () => applyOverrides(base, { duration: "5s" }),
    (e) => e instanceof PlaybookError && e.issues.some((i) => i.path === "warmup"),
  );
});

Deno.test("applyOverrides rejects an unparsable epoch", () => {
  assert.throws(
    () => applyOverrides(base, { epoch: "soon" }),
    (e) => e instanceof PlaybookError && e.issues[0]?.path === "epoch (--epoch)",
  );
});

Deno.test("a playbook works on 64 hosts at once over SSH unless ssh.maxParallel says otherwise", () => {
  assert.equal(base.ssh.maxParallel, 64);
  const spec = {
    name: "o",
    hosts: {
      mem: { role: "memory", memserver: { capacity: "64MiB" } },
      cn: { role: "compute", memoryNode: "mem", cache: "32MiB", bandwidth: "100Mbps" },
    },
    apps: [{ name: "s", host: "cn", workload: { kind: "stream", dataset: "8MiB" } }],
  };
  assert.equal(validatePlaybook({ ...spec, ssh: { maxParallel: 8 } }).ssh.maxParallel, 8);
  assert.throws(
    () => validatePlaybook({ ...spec, ssh: { maxParallel: 0 } }),
    (e) => e instanceof PlaybookError && e.issues.some((i) => i.path === "ssh.maxParallel"),
  );
});

Deno.test("applyOverrides sets ssh.maxParallel from --ssh-concurrency, naming a bad value", () => {
  assert.equal(applyOverrides(base, { sshConcurrency: "16" }).ssh.maxParallel, 16);
  assert.throws(() => applyOverrides(base, { sshConcurrency: "lots" }), (e) => {
    assert.ok(e instanceof PlaybookError);
    assert.equal(e.issues[0]?.path, "ssh.maxParallel (--ssh-concurrency)");
    assert.match(e.issues[0]?.message ?? "", /whole number from 1 to 4096 \(got "lots"\)/);
    return true;
  });
});
