import assert from "node:assert/strict";
import { LOADGEN_DEFAULTS } from "../../loadgen/options.ts";
import { PlaybookError } from "./errors.ts";
import type { PlaybookSpec } from "./schema.ts";
import { validatePlaybook } from "./validate.ts";

function spec(): PlaybookSpec {
  return {
    name: "two-apps",
    hosts: {
      mem1: {
        role: "memory",
        ssh: { host: "10.0.0.2", user: "root" },
        memserver: { capacity: "4GiB", transport: "auto" },
      },
      cn1: {
        role: "compute",
        ssh: { host: "10.0.0.3", user: "root", port: 2222 },
        memoryNode: "mem1",
        cache: "512MiB",
        bandwidth: "1Gbps",
      },
    },
    apps: [
      { name: "kv", host: "cn1", workload: { kind: "kv", dataset: "256MiB", zipf: 0.99 } },
      { name: "scan", host: "cn1", workload: { kind: "stream", dataset: "256MiB" } },
    ],
    policy: "symbiosis",
    epoch: "5s",
    duration: "2m",
    output: "results",
  };
}

function issuesOf(input: unknown): Array<{ path: string; message: string }> {
  try {
    validatePlaybook(input);
  } catch (error) {
    assert.ok(error instanceof PlaybookError, String(error));
    return [...error.issues];
  }
  assert.fail("expected a PlaybookError");
}

function issueAt(input: unknown, path: string): string {
  const issues = issuesOf(input);
  const found = issues.find((i) => i.path === path);
  assert.ok(found, `no issue at ${path}; got ${JSON.stringify(issues)}`);
  return found.message;
}

Deno.test("validatePlaybook resolves human units to bytes, bytes/s and ms", () => {
  const playbook = validatePlaybook(spec());
  const cn1 = playbook.hosts.cn1;
  assert.equal(cn1?.role, "compute");
  if (cn1?.role !== "compute") return;
  assert.equal(cn1.cacheBytes, 512 * 2 ** 20);
  assert.equal(cn1.bandwidthBytesPerSec, 125_000_000);
  assert.equal(cn1.ssh?.port, 2222);
  assert.equal(cn1.ssh?.strictHostKeyChecking, "yes");
  assert.equal(cn1.ssh?.connectTimeoutMs, 10_000);
  const mem1 = playbook.hosts.mem1;
  assert.equal(mem1?.role === "memory" ? mem1.memserver.capacityBytes : 0, 4 * 2 ** 30);
  assert.equal(playbook.epochMs, 5000);
  assert.equal(playbook.durationMs, 120_000);
  assert.equal(playbook.warmupMs, 0);
});

Deno.test("validatePlaybook fills workload defaults and per-app limits from the host", () => {
  const playbook = validatePlaybook(spec());
  const kv = playbook.apps[0];
  assert.equal(kv?.kind, "workload");
  if (kv?.kind !== "workload" || kv.workload.kind !== "kv") return;
  assert.equal(kv.workload.datasetBytes, 256 * 2 ** 20);
  assert.equal(kv.workload.valueBytes, 256);
  assert.equal(kv.workload.concurrency, 4);
  assert.equal(kv.workload.readRatio, 0.95);
  assert.deepEqual(kv.limits, {
    minCacheBytes: 0,
    maxCacheBytes: 512 * 2 ** 20,
    minBandwidthBytesPerSec: 0,
    maxBandwidthBytesPerSec: 125_000_000,
  });
});

Deno.test("validatePlaybook treats a missing duration as forever and hosts without ssh as local", () => {
  const s = spec();
  delete s.duration;
  for (const host of Object.values(s.hosts)) delete host.ssh;
  const playbook = validatePlaybook(s);
  assert.equal(playbook.durationMs, null);
  assert.equal(playbook.hosts.cn1?.ssh, null);
});

Deno.test("validatePlaybook resolves a command app with cgroup settings and a log source", () => {
  const s = spec();
  s.apps = [{
    name: "redis",
    host: "cn1",
    command: {
      argv: ["redis-server", "--port", "6380"],
      cgroup: { swapDevice: "/dev/nbd0" },
      throughput: { kind: "log", pattern: "ops=(\\d+)", stream: "stderr" },
    },
    limits: { minCache: "64MiB", maxBandwidth: "500Mbps" },
  }];
  const app = validatePlaybook(s).apps[0];
  assert.equal(app?.kind, "command");
  if (app?.kind !== "command") return;
  assert.deepEqual(app.command.cgroup, { swapDevices: ["/dev/nbd0"] });
  assert.deepEqual(app.command.throughput, {
    kind: "log",
    pattern: "ops=(\\d+)",
    stream: "stderr",
    from: "app",
  });
  assert.equal(app.limits.minCacheBytes, 64 * 2 ** 20);
  assert.equal(app.limits.maxBandwidthBytesPerSec, 62_500_000);
});

Deno.test("validatePlaybook adopts an existing cgroup with an http throughput source", () => {
  const s = spec();
  s.apps = [{
    name: "web",
    host: "cn1",
    command: {
      cgroup: { path: "/system.slice/docker-abc.scope", swapDevice: ["/dev/nbd0", "/dev/nbd1"] },
      throughput: {
        kind: "http",
        url: "http://127.0.0.1:9100/metrics",
        pattern: "requests (\\d+)",
      },
    },
  }];
  const app = validatePlaybook(s).apps[0];
  assert.ok(app?.kind === "command");
  assert.equal(app.command.argv, undefined);
  assert.deepEqual(app.command.cgroup.swapDevices, ["/dev/nbd0", "/dev/nbd1"]);
  assert.equal(app.command.throughput.kind, "http");
});

Deno.test("validatePlaybook requires exactly one of argv or cgroup.path in a command", () => {
  const s = spec();
  s.apps = [{
    name: "x",
    host: "cn1",
    command: { argv: ["x"], cgroup: { path: "/a" } },
  }];
  assert.match(issueAt(s, "apps[0].command"), /exactly one of "argv".*"cgroup\.path"/);
});

Deno.test("validatePlaybook defaults a command's throughput source to none", () => {
  const s = spec();
  s.apps = [{ name: "x", host: "cn1", command: { argv: ["x"] } }];
  const app = validatePlaybook(s).apps[0];
  assert.ok(app?.kind === "command");
  assert.deepEqual(app.command.throughput, { kind: "none" });
});

Deno.test("validatePlaybook leaves a command's swap devices to the node when none is named", () => {
  const s = spec();
  s.apps = [{ name: "x", host: "cn1", command: { argv: ["x"] } }];
  const app = validatePlaybook(s).apps[0];
  assert.ok(app?.kind === "command");
  assert.deepEqual(app.command.cgroup, {});
  assert.equal("swapDevices" in app.command.cgroup, false);
});

Deno.test("validatePlaybook resolves a phased workload", () => {
  const s = spec();
  s.apps = [{
    name: "ph",
    host: "cn1",
    workload: {
      kind: "phased",
      dataset: "128MiB",
      phases: [{ kind: "kv", duration: "30s" }, { kind: "stream", duration: "1m" }],
      zipf: 0.8,
    },
  }];
  const app = validatePlaybook(s).apps[0];
  assert.ok(app?.kind === "workload" && app.workload.kind === "phased");
  assert.equal(app.workload.zipf, 0.8);
  assert.deepEqual(app.workload.phases, [
    { kind: "kv", durationMs: 30_000 },
    { kind: "stream", durationMs: 60_000 },
  ]);
});

Deno.test("validatePlaybook names the path and accepted values of a bad policy", () => {
  const message = issueAt({ ...spec(), policy: "fair" }, "policy");
  assert.match(message, /"symbiosis", "static", "ideal", "harvest", "trade", "drf"/);
});

Deno.test("validatePlaybook names the path and accepted values of a bad role", () => {
  const s = spec() as Record<string, unknown>;
  s.hosts = { ...(s.hosts as object), x: { role: "storage" } };
  assert.match(issueAt(s, "hosts.x.role"), /"memory", "compute"/);
});

Deno.test("validatePlaybook names the path and accepted values of a bad transport", () => {
  const s = spec();
  const mem1 = s.hosts.mem1;
  if (mem1?.role === "memory") mem1.memserver.transport = "udp" as "tcp";
  assert.match(issueAt(s, "hosts.mem1.memserver.transport"), /"tcp", "rdma", "auto"/);
});

Deno.test("validatePlaybook reports a unit it cannot parse with the accepted units", () => {
  const s = spec();
  const cn1 = s.hosts.cn1;
  if (cn1?.role === "compute") cn1.cache = "512 bananas";
  assert.match(issueAt(s, "hosts.cn1.cache"), /512 bananas.*MiB/);
});

Deno.test("validatePlaybook lists the accepted fields for an unknown field", () => {
  const s = { ...spec(), epochs: "5s" };
  assert.match(issueAt(s, ""), /unknown field "epochs" \(accepted: name, .*epoch.*\)/);
});

Deno.test("validatePlaybook says which field is required when one is missing", () => {
  const s = spec() as Record<string, unknown>;
  s.apps = [{ name: "kv", workload: { kind: "kv", dataset: "1MiB" } }];
  assert.match(issueAt(s, "apps[0].host"), /is required/);
});

Deno.test("validatePlaybook requires exactly one of workload or command", () => {
  const s = spec() as Record<string, unknown>;
  s.apps = [{ name: "kv", host: "cn1" }];
  assert.match(issueAt(s, "apps[0]"), /exactly one of "workload".*"command"/);
});

Deno.test("validatePlaybook rejects an app on an unknown host and lists the compute hosts", () => {
  const s = spec();
  s.apps[0] = { name: "kv", host: "cn9", workload: { kind: "kv", dataset: "1MiB" } };
  assert.match(issueAt(s, "apps[0].host"), /unknown host "cn9" \(compute hosts: "cn1"\)/);
});

Deno.test("validatePlaybook rejects an app on a memory host", () => {
  const s = spec();
  s.apps[0] = { name: "kv", host: "mem1", workload: { kind: "kv", dataset: "1MiB" } };
  assert.match(issueAt(s, "apps[0].host"), /"mem1" is a memory host/);
});

Deno.test("validatePlaybook rejects a memoryNode that is not a memory host", () => {
  const s = spec();
  const cn1 = s.hosts.cn1;
  if (cn1?.role === "compute") cn1.memoryNode = "cn1";
  assert.match(issueAt(s, "hosts.cn1.memoryNode"), /compute host, not a memory host.*"mem1"/);
  if (cn1?.role === "compute") cn1.memoryNode = "nowhere";
  assert.match(issueAt(s, "hosts.cn1.memoryNode"), /unknown host "nowhere"/);
});

Deno.test("validatePlaybook rejects duplicate app names", () => {
  const s = spec();
  s.apps.push({ name: "kv", host: "cn1", workload: { kind: "stream", dataset: "1MiB" } });
  assert.match(issueAt(s, "apps[2].name"), /duplicate app name "kv" \(also apps\[0\]\.name\)/);
});

Deno.test("validatePlaybook requires warmup shorter than duration", () => {
  assert.match(issueAt({ ...spec(), warmup: "2m" }, "warmup"), /shorter than duration/);
});

Deno.test("validatePlaybook rejects per-app limits with min above max", () => {
  const s = spec();
  s.apps[0] = {
    name: "kv",
    host: "cn1",
    workload: { kind: "kv", dataset: "1MiB" },
    limits: { minCache: "256MiB", maxCache: "128MiB", minBandwidth: "2Gbps" },
  };
  const issues = issuesOf(s);
  const paths = issues.map((i) => i.path);
  assert.ok(paths.includes("apps[0].limits.minCache"), JSON.stringify(issues));
  assert.ok(paths.includes("apps[0].limits.minBandwidth"), JSON.stringify(issues));
  assert.ok(paths.includes("hosts.cn1.bandwidth"), JSON.stringify(issues));
});

Deno.test("validatePlaybook rejects datasets larger than the memory node's capacity", () => {
  const s = spec();
  const mem1 = s.hosts.mem1;
  if (mem1?.role === "memory") mem1.memserver.capacity = "300MiB";
  assert.match(issueAt(s, "hosts.mem1.memserver.capacity"), /300\.0MiB < 512\.0MiB/);
});

Deno.test("validatePlaybook rejects two memory servers on one machine and port", () => {
  const s = spec();
  s.hosts.mem2 = {
    role: "memory",
    ssh: { host: "10.0.0.2", user: "root" },
    memserver: { capacity: "1GiB" },
  };
  const mem1 = s.hosts.mem1;
  if (mem1?.role === "memory") mem1.memserver.port = 7070;
  assert.match(issueAt(s, "hosts.mem2.memserver.port"), /already used by host "mem1"/);
});

Deno.test("validatePlaybook rejects a log pattern without exactly one capture group", () => {
  const s = spec();
  s.apps = [{
    name: "x",
    host: "cn1",
    command: { argv: ["x"], throughput: { kind: "log", pattern: "(ops)=(\\d+)" } },
  }];
  assert.match(issueAt(s, "apps[0].command.throughput.pattern"), /0 to 1 capture group.*found 2/);
});

Deno.test("validatePlaybook rejects hostile ssh host names and NUL in argv", () => {
  const s = spec();
  const cn1 = s.hosts.cn1;
  if (cn1?.role === "compute") cn1.ssh = { host: "-oProxyCommand=x" };
  s.apps = [{
    name: "x",
    host: "cn1",
    command: { argv: ["a\0b"], throughput: { kind: "command", argv: ["cat", "/tmp/ops"] } },
  }];
  const paths = issuesOf(s).map((i) => i.path);
  assert.ok(paths.includes("hosts.cn1.ssh.host"));
  assert.ok(paths.includes("apps[0].command.argv[0]"));
});

Deno.test("validatePlaybook bounds the kv value size", () => {
  const s = spec();
  s.apps[0] = {
    name: "kv",
    host: "cn1",
    workload: { kind: "kv", dataset: "1MiB", valueSize: "8KiB" },
  };
  assert.match(issueAt(s, "apps[0].workload.valueSize"), /8B to 4KiB/);
});

Deno.test("validatePlaybook reports every problem at once", () => {
  const s = { ...spec(), policy: "nope", epoch: "fast", warmup: -1 };
  assert.equal(issuesOf(s).length, 3);
});

Deno.test("PlaybookError message lists each problem with its path", () => {
  try {
    validatePlaybook({ ...spec(), policy: "nope" });
    assert.fail("expected an error");
  } catch (error) {
    assert.ok(error instanceof PlaybookError);
    assert.match(
      error.message,
      /^Invalid playbook "two-apps": 1 problem\n {2}policy: must be one of/,
    );
  }
});

Deno.test("validatePlaybook normalises memserver.rdmaLegacyAllow blocks", () => {
  const s = spec();
  const mem1 = s.hosts.mem1;
  if (mem1?.role === "memory") {
    mem1.memserver.rdmaLegacyAllow = ["10.0.0.0/24", "fd00:0::/64", "10.1.2.3"];
  }
  const resolved = validatePlaybook(s).hosts.mem1;
  assert.deepEqual(
    resolved?.role === "memory" ? resolved.memserver.rdmaLegacyAllow : null,
    ["10.0.0.0/24", "fd00::/64", "10.1.2.3/32"],
  );
  const plain = validatePlaybook(spec()).hosts.mem1;
  assert.deepEqual(plain?.role === "memory" ? plain.memserver.rdmaLegacyAllow : null, []);
});

Deno.test("validatePlaybook names the index and the problem of a bad rdmaLegacyAllow block", () => {
  const s = spec();
  const mem1 = s.hosts.mem1;
  if (mem1?.role === "memory") mem1.memserver.rdmaLegacyAllow = ["10.0.0.0/24", "10.0.0.1/8"];
  assert.match(
    issueAt(s, "hosts.mem1.memserver.rdmaLegacyAllow[1]"),
    /"10\.0\.0\.1\/8": bits after the \/8 prefix are set \(did you mean 10\.0\.0\.0\/8\?\)/,
  );
  if (mem1?.role === "memory") mem1.memserver.rdmaLegacyAllow = ["rack-7"];
  assert.match(
    issueAt(s, "hosts.mem1.memserver.rdmaLegacyAllow[0]"),
    /"rack-7" is not a CIDR block \(expected an IPv4 or IPv6 block such as 10\.0\.0\.0\/24/,
  );
});

Deno.test("validatePlaybook refuses rdmaLegacyAllow on a memory server that serves TCP", () => {
  const s = spec();
  const mem1 = s.hosts.mem1;
  if (mem1?.role === "memory") {
    mem1.memserver.transport = "tcp";
    mem1.memserver.rdmaLegacyAllow = ["10.0.0.0/24"];
  }
  assert.match(issueAt(s, "hosts.mem1.memserver.rdmaLegacyAllow"), /applies to RDMA only/);
});

function withDriver(command: Record<string, unknown>) {
  const s = spec();
  s.apps = [{ name: "mc", host: "cn1", command: { argv: ["memcached"], ...command } }];
  return s;
}

Deno.test("validatePlaybook resolves a loadgen driver and reads its ops lines by default", () => {
  const app = validatePlaybook(withDriver({
    driver: {
      loadgen: { protocol: "memcached", server: "127.0.0.1:11311", keys: 5000, valueSize: "2KiB" },
    },
  })).apps[0];
  assert.ok(app?.kind === "command");
  assert.deepEqual(app.command.driver, {
    kind: "loadgen",
    protocol: "memcached",
    server: { kind: "tcp", hostname: "127.0.0.1", port: 11311 },
    // Defaults for what the playbook leaves out; the seed is the playbook's plus the app index.
    workload: { ...LOADGEN_DEFAULTS, keys: 5000, valueBytes: 2048, seed: 1 },
    env: {},
  });
  assert.deepEqual(app.command.throughput, {
    kind: "log",
    pattern: "^ops (\\d+)",
    stream: "stdout",
    from: "driver",
  });
});

Deno.test("validatePlaybook names the fields of a bad loadgen driver with accepted values", () => {
  const s = withDriver({
    driver: {
      loadgen: { protocol: "mysql", server: "localhost", keys: 0, valueSize: "2MiB", extra: 1 },
    },
  });
  const path = "apps[0].command.driver.loadgen";
  assert.match(issueAt(s, `${path}.protocol`), /must be one of "memcached", "redis"/);
  assert.match(issueAt(s, `${path}.server`), /expected HOST:PORT, \[IPv6\]:PORT or unix:/);
  assert.match(issueAt(s, `${path}.keys`), /expected number to be >=1/);
  assert.match(issueAt(s, `${path}.valueSize`), /must be 1B to 1MiB/);
  assert.match(issueAt(s, path), /unknown field "extra" \(accepted: protocol, server/);
});

Deno.test("validatePlaybook requires exactly one of argv or loadgen in a driver", () => {
  const s = withDriver({
    driver: { argv: ["x"], loadgen: { protocol: "redis", server: "unix:/tmp/r.sock" } },
  });
  assert.match(issueAt(s, "apps[0].command.driver"), /exactly one of "argv".*"loadgen"/);
});

Deno.test("validatePlaybook refuses a throughput read from a driver the app does not have", () => {
  const s = withDriver({ throughput: { kind: "log", pattern: "^ops (\\d+)", from: "driver" } });
  assert.match(issueAt(s, "apps[0].command.throughput.from"), /reads the driver's output/);
});
