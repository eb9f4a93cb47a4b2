import assert from "node:assert/strict";
import { validatePlaybook } from "../playbook/validate.ts";
import { describePlan, memserverArgs, planRun, withPort } from "./plan.ts";

const playbook = () =>
  validatePlaybook({
    name: "plan-test",
    hosts: {
      mem: { role: "memory", memserver: { capacity: "256MiB", transport: "tcp", port: 0 } },
      node: { role: "compute", memoryNode: "mem", cache: "96MiB", bandwidth: "300Mbps" },
    },
    apps: [
      { name: "kv", host: "node", workload: { kind: "kv", dataset: "64MiB", zipf: 0.9 } },
      { name: "scan", host: "node", workload: { kind: "stream", dataset: "64MiB" } },
      {
        name: "cmd",
        host: "node",
        command: { argv: ["sleep", "1"], cgroup: { swapDevice: "/dev/loop7" } },
        limits: { maxCache: "16MiB" },
      },
    ],
    duration: "20s",
  });

Deno.test("planRun starts every app at the water-filled equal split", () => {
  const plan = planRun(playbook(), "r1");
  const apps = plan.computes[0]?.apps ?? [];
  const cache = apps.map((a) => a.launch.allocation.cacheBytes / 2 ** 20);
  // cmd is capped at 16 MiB, the other two share the rest.
  assert.deepEqual(cache.map(Math.round), [40, 40, 16]);
  const bandwidth = apps.reduce((a, b) => a + b.launch.allocation.bandwidthBytesPerSec, 0);
  assert.ok(bandwidth <= 300e6 / 8);
});

Deno.test("planRun builds workload and cgroup launch specs", () => {
  const plan = planRun(playbook(), "r2");
  const [kv, , cmd] = plan.computes[0]?.apps ?? [];
  assert.equal(kv?.launch.enforcement, "farmem");
  if (kv?.launch.enforcement !== "farmem" || kv.launch.program.kind !== "workload") {
    throw new Error("kv");
  }
  assert.equal(kv.launch.program.workload, "kv");
  assert.deepEqual(kv.launch.program.args.slice(0, 4), [
    "--memserver",
    "127.0.0.1:0",
    "--token-file",
    "/tmp/spirit-r2/memserver.token",
  ]);
  assert.ok(kv.launch.program.args.includes("--skew"));
  assert.equal(cmd?.launch.enforcement, "cgroup");
  if (cmd?.launch.enforcement !== "cgroup") throw new Error("cmd");
  assert.deepEqual(cmd.launch.argv, ["sleep", "1"]);
  assert.deepEqual(cmd.launch.swapDevices, ["/dev/loop7"]);
});

Deno.test("planRun leaves the swap devices to the agent when the playbook names none", () => {
  const spec = validatePlaybook({
    name: "plan-default-swap",
    hosts: {
      mem: { role: "memory", memserver: { capacity: "256MiB", transport: "tcp", port: 0 } },
      node: { role: "compute", memoryNode: "mem", cache: "96MiB", bandwidth: "300Mbps" },
    },
    apps: [{ name: "cmd", host: "node", command: { argv: ["sleep", "1"] } }],
    duration: "20s",
  });
  const launch = planRun(spec, "r5").computes[0]?.apps[0]?.launch;
  assert.equal(launch?.enforcement, "cgroup");
  // Absent, not []: an empty list would mean "throttle nothing".
  assert.equal(launch !== undefined && "swapDevices" in launch, false);
});

Deno.test("withPort rewrites the memory-server address once the port is known", () => {
  const kv = planRun(playbook(), "r3").computes[0]?.apps[0]?.launch;
  if (kv === undefined) throw new Error("no app");
  const moved = withPort(kv, "127.0.0.1:40123");
  if (moved.enforcement !== "farmem" || moved.program.kind !== "workload") throw new Error("kind");
  assert.equal(moved.program.args[1], "127.0.0.1:40123");
});

Deno.test("describePlan lists what is started where, touching nothing", () => {
  const text = describePlan(playbook(), planRun(playbook(), "r4"));
  assert.match(text, /host mem \(memory, this machine \(no SSH\)\)/);
  assert.match(
    text,
    /start: spirit memserver --listen 127\.0\.0\.1:0 --capacity 268435456 --transport tcp/,
  );
  assert.match(text, /launch kv: workload kv --memserver/);
  assert.match(text, /launch cmd: command sleep 1 in a new cgroup/);
});

const rdmaPlaybook = (transport: "rdma" | "auto") =>
  validatePlaybook({
    name: "plan-rdma",
    hosts: {
      mem: {
        role: "memory",
        memserver: { capacity: "256MiB", transport, rdmaLegacyAllow: ["10.0.0.0/24", "fd00::/64"] },
      },
      node: { role: "compute", memoryNode: "mem", cache: "96MiB", bandwidth: "300Mbps" },
    },
    apps: [{ name: "kv", host: "node", workload: { kind: "kv", dataset: "64MiB" } }],
    duration: "20s",
  });

Deno.test("planRun passes the memory server's transport on to its workloads", () => {
  for (const transport of ["rdma", "auto"] as const) {
    const launch = planRun(rdmaPlaybook(transport), "r5").computes[0]?.apps[0]?.launch;
    if (launch?.enforcement !== "farmem" || launch.program.kind !== "workload") {
      throw new Error("kv");
    }
    const args = launch.program.args;
    assert.equal(args[args.indexOf("--transport") + 1], transport);
  }
  const tcp = planRun(playbook(), "r6").computes[0]?.apps[0]?.launch;
  if (tcp?.enforcement !== "farmem" || tcp.program.kind !== "workload") throw new Error("kv");
  assert.equal(tcp.program.args[tcp.program.args.indexOf("--transport") + 1], "tcp");
});

Deno.test("memserverArgs carries the token file and the legacy allow-list", () => {
  const [memserver] = planRun(rdmaPlaybook("rdma"), "r7").memservers;
  if (memserver === undefined) throw new Error("no memory server");
  assert.deepEqual(memserverArgs(memserver, "/tmp/spirit-r7/memserver.token"), [
    "--capacity",
    "268435456",
    "--transport",
    "rdma",
    "--token-file",
    "/tmp/spirit-r7/memserver.token",
    "--rdma-legacy-allow",
    "10.0.0.0/24,fd00::/64",
  ]);
  const [plain] = planRun(playbook(), "r8").memservers;
  if (plain === undefined) throw new Error("no memory server");
  assert.ok(!memserverArgs(plain, "t").includes("--rdma-legacy-allow"));
});

Deno.test("describePlan gives the size and hash of what is deployed to each SSH host", () => {
  const remote = validatePlaybook({
    name: "plan-ssh",
    hosts: {
      mem: { role: "memory", ssh: { host: "10.0.0.2" }, memserver: { capacity: "1GiB" } },
      node: { role: "compute", memoryNode: "mem", cache: "96MiB", bandwidth: "300Mbps" },
    },
    apps: [{ name: "kv", host: "node", workload: { kind: "kv", dataset: "64MiB" } }],
  });
  const shipped = {
    runtime: { path: "/d", sha256: "ab".repeat(32), bytes: 95 * 2 ** 20 },
    bundle: { path: "/b", sha256: "cd".repeat(32), bytes: 1126 * 2 ** 10 },
  };
  const text = describePlan(remote, planRun(remote, "r5"), { shipped });
  const mem = text.slice(text.indexOf("host mem"), text.indexOf("host node"));
  assert.match(mem, /runtime\/abababababab…\/deno +95\.0MiB/);
  assert.match(mem, /bundle\/cdcdcdcdcdcd…\/spirit\.js +1\.1MiB/);
  assert.doesNotMatch(text.slice(text.indexOf("host node")), /spirit\.js/);
});

Deno.test("planRun runs a loadgen driver through the node's spirit CLI", () => {
  const spec = validatePlaybook({
    name: "plan-driver",
    hosts: {
      mem: { role: "memory", memserver: { capacity: "256MiB", transport: "tcp", port: 0 } },
      node: { role: "compute", memoryNode: "mem", cache: "96MiB", bandwidth: "300Mbps" },
    },
    apps: [{
      name: "mc",
      host: "node",
      command: {
        argv: ["memcached", "-p", "11311"],
        driver: { loadgen: { protocol: "memcached", server: "127.0.0.1:11311", keys: 1000 } },
      },
    }],
    duration: "20s",
    seed: 7,
  });
  const plan = planRun(spec, "r6");
  const launch = plan.computes[0]?.apps[0]?.launch;
  if (launch?.enforcement !== "cgroup" || launch.driver?.kind !== "spirit") {
    throw new Error("expected a spirit driver");
  }
  assert.deepEqual(launch.driver.args.slice(0, 6), [
    "loadgen",
    "memcached",
    "--server",
    "127.0.0.1:11311",
    "--keys",
    "1000",
  ]);
  assert.equal(launch.driver.args[launch.driver.args.indexOf("--seed") + 1], "7");
  assert.equal(launch.throughput?.kind === "log" && launch.throughput.from, "driver");
  const text = describePlan(spec, plan);
  assert.match(text, /driver: spirit loadgen memcached --server 127\.0\.0\.1:11311/);
  assert.match(text, /swap devices: the node's default/);
});
