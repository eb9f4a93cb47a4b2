/**
 * The agent's host facts against independent observations of this machine: the cgroup layout
 * from findmnt, RDMA devices from sysfs, hardware counters from the perf event sources.
 */
import assert from "node:assert/strict";
import { gatherFacts } from "../agent/facts.ts";
import { commandOnPath, systemTest } from "./prereq.ts";

async function findmnt(type: string): Promise<string[]> {
  const output = await new Deno.Command("findmnt", {
    args: ["-n", "-l", "-t", type, "-o", "TARGET,OPTIONS"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(output.stdout).split("\n").filter((l) => l.trim() !== "");
}

function entries(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

systemTest("agent facts match this host's cgroups, RDMA devices and perf counters", [
  commandOnPath("findmnt"),
], async () => {
  const facts = await gatherFacts();
  const v1 = await findmnt("cgroup");
  const v2 = await findmnt("cgroup2");
  const v1Memory = v1.find((l) => /[ ,]memory(,|$)/.test(l));
  const v2Root = v2[0]?.split(/\s+/)[0];
  const v2HasMemory = v2Root !== undefined &&
    Deno.readTextFileSync(`${v2Root}/cgroup.controllers`).split(/\s+/).includes("memory");
  const expectedVersion = v2HasMemory ? 2 : v1Memory !== undefined ? 1 : null;
  assert.equal(facts.cgroup.memory?.version ?? null, expectedVersion);
  assert.deepEqual(facts.rdmaDevices, entries("/sys/class/infiniband").sort());
  const pmus = entries("/sys/bus/event_source/devices");
  const hardwarePmu = pmus.some((name) => /^(cpu|cpu_core|cpu_atom|armv\d|arm_)/.test(name));
  assert.equal(facts.hardwarePerfCounters, hardwarePmu);
  assert.equal(facts.softwarePerfEvents, true);
  console.log(
    `facts: cgroup memory v${facts.cgroup.memory?.version}, rdma [${
      facts.rdmaDevices.join(", ")
    }], ` +
      `hardware counters ${facts.hardwarePerfCounters}, ${facts.cpus} cpus`,
  );
});

systemTest(
  "agent facts on this machine: cgroup v1 memory, no RDMA, no hardware counters",
  [],
  async () => {
    // The CI machine is this VM type; on other hosts set SPIRIT_FACTS_HOST=other to skip.
    if (Deno.env.get("SPIRIT_FACTS_HOST") === "other") return;
    const facts = await gatherFacts();
    assert.equal(facts.cgroup.memory?.version, 1);
    assert.equal(facts.cgroup.io?.version, 1);
    assert.deepEqual(facts.rdmaDevices, []);
    assert.equal(facts.hardwarePerfCounters, false);
    assert.equal(facts.cgroupEnforcement.bandwidthWrite.enforced, false);
  },
);

async function shell(script: string): Promise<{ code: number; stdout: string }> {
  const out = await new Deno.Command("sh", { args: ["-c", script], stdout: "piped" }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout).trim() };
}

systemTest(
  "agent facts report /dev/fuse, /dev/loop-control, fusermount3 and zswap as the shell sees them",
  [commandOnPath("sh")],
  async () => {
    const { remoteSwapSupport: support } = await gatherFacts();
    assert.equal(support.devFuse, (await shell("test -c /dev/fuse")).code === 0);
    const loop = (await shell("test -c /dev/loop-control")).code === 0;
    const writable = (await shell("test -r /dev/loop-control -a -w /dev/loop-control")).code === 0;
    assert.equal(support.loopControl, !loop ? "absent" : writable ? "usable" : "no-permission");
    const fusermount = await shell("command -v fusermount3");
    assert.equal(support.fusermount3, fusermount.code === 0 ? fusermount.stdout : null);
    const zswap = await shell("cat /sys/module/zswap/parameters/enabled 2>/dev/null");
    assert.equal(support.zswapEnabled, zswap.code !== 0 ? null : /^[Y1]$/.test(zswap.stdout));
    console.log(`remote swap support: ${JSON.stringify(support)}`);
  },
);
