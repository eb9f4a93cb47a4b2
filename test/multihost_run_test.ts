/**
 * System test: `spirit run` over real SSH into network namespaces (test/fixtures/netns_hosts.ts):
 * one memory node (its link rate-limited with tc) and two compute nodes with two far-memory
 * workloads each; the run's results are checked and nothing of the run may be left behind.
 * @module
 */
import assert from "node:assert/strict";
import type { Playbook } from "../controller/playbook/types.ts";
import { validatePlaybook } from "../controller/playbook/validate.ts";
import { readEpochs } from "../controller/results/read.ts";
import type { RunEvent } from "../controller/results/types.ts";
import type { RunInfo } from "../controller/run/run_info.ts";
import { checkPlaybook } from "../controller/run/check.ts";
import { runPlaybook } from "../controller/run/run.ts";
import { createNetnsHosts, type NetnsHost } from "./fixtures/netns_hosts.ts";
import { leftoversOf } from "./fixtures/leftovers.ts";
import { RunWatch } from "./fixtures/run_watch.ts";
import { commandOnPath, ROOT, systemTest } from "./prereq.ts";

const PREREQS = [
  ROOT,
  commandOnPath("sshd"),
  commandOnPath("ssh"),
  commandOnPath("ip"),
  commandOnPath("tc"),
  commandOnPath("pgrep"),
];

const COMPUTE_CACHE_MIB = 4;
const COMPUTE_BANDWIDTH_MBPS = 40;

function sshOf(host: NetnsHost) {
  const { ssh } = host;
  return {
    host: ssh.host,
    ...(ssh.user === undefined ? {} : { user: ssh.user }),
    ...(ssh.port === undefined ? {} : { port: ssh.port }),
    ...(ssh.identityFile === undefined ? {} : { identityFile: ssh.identityFile }),
    ...(ssh.knownHostsFile === undefined ? {} : { knownHostsFile: ssh.knownHostsFile }),
    strictHostKeyChecking: ssh.strictHostKeyChecking,
    connectTimeout: `${ssh.connectTimeoutMs}ms`,
  };
}

/** Three namespaced hosts: mem (h0), cn1 (h1), cn2 (h2), two apps per compute node. */
function multihostPlaybook(
  hosts: readonly NetnsHost[],
  output: string,
  options: { memserverPort?: number; name?: string; timing?: Record<string, string> } = {},
): Playbook {
  const [mem, cn1, cn2] = hosts;
  assert.ok(mem !== undefined && cn1 !== undefined && cn2 !== undefined);
  const compute = (host: NetnsHost) => ({
    role: "compute",
    ssh: sshOf(host),
    memoryNode: "mem",
    cache: `${COMPUTE_CACHE_MIB}MiB`,
    bandwidth: `${COMPUTE_BANDWIDTH_MBPS}Mbps`,
  });
  return validatePlaybook({
    name: options.name ?? "multihost",
    hosts: {
      mem: {
        role: "memory",
        ssh: sshOf(mem),
        memserver: {
          capacity: "64MiB",
          transport: "tcp",
          port: options.memserverPort ?? 0,
          address: mem.address,
        },
      },
      cn1: compute(cn1),
      cn2: compute(cn2),
    },
    apps: [
      { name: "kv1", host: "cn1", workload: { kind: "kv", dataset: "8MiB", zipf: 0.99 } },
      { name: "scan1", host: "cn1", workload: { kind: "stream", dataset: "8MiB" } },
      { name: "kv2", host: "cn2", workload: { kind: "kv", dataset: "8MiB", zipf: 0.99 } },
      { name: "scan2", host: "cn2", workload: { kind: "stream", dataset: "8MiB" } },
    ],
    policy: "symbiosis",
    epoch: "2s",
    warmup: "4s",
    duration: "16s",
    ...options.timing,
    output,
  });
}

/** Processes whose argv mentions `text` (on this machine: the namespaces share its pid space). */
async function processesMentioning(text: string): Promise<string[]> {
  const out = await new Deno.Command("pgrep", { args: ["-af", text], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) =>
    l.trim() !== "" && !l.includes("pgrep")
  );
}

/** The distinct command names of the processes in a network namespace. */
async function commandsInNetns(netns: string): Promise<string[]> {
  const out = await new Deno.Command("ip", { args: ["netns", "pids", netns], stdout: "piped" })
    .output();
  const names = new Set<string>();
  for (const pid of new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "")) {
    const comm = await Deno.readTextFile(`/proc/${pid}/comm`).catch((error) => {
      // Exited since the listing.
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    });
    if (comm !== null) names.add(comm.trim());
  }
  return [...names].sort();
}

/** Removes `path` recursively; a path that is already gone is fine. */
async function removeIfPresent(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}

/** The host directories of every run under `output` (from each run's run.json). */
async function hostDirsUnder(output: string): Promise<string[]> {
  const dirs: string[] = [];
  for await (const entry of Deno.readDir(output)) {
    const file = `${output}/${entry.name}/run.json`;
    const text = await Deno.readTextFile(file).catch((error) => {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    });
    if (text !== null) dirs.push((JSON.parse(text) as RunInfo).hostDir);
  }
  return dirs;
}

systemTest("spirit run drives 2 compute nodes and a memory node over SSH", PREREQS, async () => {
  await using net = await createNetnsHosts(3, { rateLimits: { 0: "200Mbps" } });
  const output = await Deno.makeTempDir({ prefix: "spirit-multihost-" });
  try {
    const playbook = multihostPlaybook(net.hosts, output);
    const result = await runPlaybook(playbook, { output: "quiet" });
    assert.ok(result.runDir !== null);
    assert.equal(result.interrupted, false);
    const dir = result.runDir;
    const info = JSON.parse(await Deno.readTextFile(`${dir}/run.json`)) as RunInfo;

    for (const file of ["epochs.jsonl", "events.jsonl", "summary.json", "report.html"]) {
      assert.ok((await Deno.stat(`${dir}/${file}`)).isFile, `${file} exists`);
    }

    const { records } = await readEpochs(dir);
    assert.ok(records.length >= 7 && records.length <= 9, `${records.length} epochs`);
    assert.deepEqual(records.map((r) => r.epoch), records.map((_, i) => i));
    const measured = records.filter((r) => r.phase === "measure");
    assert.ok(measured.length >= 4, `${measured.length} measured epochs`);
    for (const record of measured) {
      assert.deepEqual(record.nodes.map((n) => n.host).sort(), ["cn1", "cn2"]);
      assert.deepEqual(record.apps.map((a) => a.name).sort(), ["kv1", "kv2", "scan1", "scan2"]);
      for (const app of record.apps) {
        assert.ok((app.opsPerSec ?? 0) > 0, `${app.name} throughput in epoch ${record.epoch}`);
      }
      for (const node of ["cn1", "cn2"]) {
        const apps = record.apps.filter((a) => a.host === node);
        assert.equal(apps.length, 2, `apps on ${node}`);
        const cache = apps.reduce((sum, a) => sum + a.cacheMiB, 0);
        const bandwidth = apps.reduce((sum, a) => sum + a.bandwidthMbps, 0);
        assert.ok(cache <= COMPUTE_CACHE_MIB + 1e-6, `${node} cache ${cache} MiB`);
        assert.ok(bandwidth <= COMPUTE_BANDWIDTH_MBPS + 1e-6, `${node} bandwidth ${bandwidth}`);
      }
      assert.ok(record.timings !== undefined && record.timings.collectMs > 0);
    }

    const events = (await Deno.readTextFile(`${dir}/events.jsonl`)).trim().split("\n")
      .map((line) => JSON.parse(line) as RunEvent);
    const has = (kind: RunEvent["kind"], pattern: RegExp, host?: string) =>
      events.some((e) => e.kind === kind && pattern.test(e.message) && e.host === host);
    assert.ok(has("start", /memory server on port \d+ \(tcp\)/, "mem"), "memserver start");
    assert.ok(has("stop", /memory server stopped/, "mem"), "memserver stop");
    for (const node of ["cn1", "cn2"]) {
      // Over SSH the controller reaches the daemon through the master connection, no relay.
      assert.ok(
        has("start", /agent attached \(daemon pid [0-9]+, to its socket\)/, node),
        `agent start on ${node}`,
      );
      assert.ok(has("stop", /agent torn down .*daemon shut down/, node), `agent stop on ${node}`);
    }
    for (const app of ["kv1", "scan1", "kv2", "scan2"]) {
      assert.ok(events.some((e) => e.kind === "start" && e.app === app), `launch of ${app}`);
    }
    assert.deepEqual(events.filter((e) => e.kind === "fault"), []);

    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
    assert.equal(summary.apps.length, 4);

    // Nothing of the run is left: no process with the run id in argv (memory server, agent
    // sessions and daemons, workloads), no run directory on the (shared) filesystem.
    assert.deepEqual(await processesMentioning(info.runId), []);
    await assert.rejects(Deno.stat(info.hostDir), Deno.errors.NotFound);
    for (const host of net.hosts) {
      assert.deepEqual(await commandsInNetns(host.netns), ["sshd"], `left in ${host.name}`);
    }

    // The memory traffic crossed the memory node's rate-limited link.
    const qdisc = await net.execIn(0, ["tc", "-s", "qdisc", "show", "dev", "eth0"]);
    assert.match(qdisc, /tbf .*rate 200Mbit/);
    const sent = Number(/Sent (\d+) bytes/.exec(qdisc)?.[1] ?? 0);
    assert.ok(sent > 8 * 2 ** 20, `${sent} bytes sent by the memory node`);
  } finally {
    // On failure, leave nothing behind: the run's processes live in the namespaces (the
    // fixture kills them) and its files in its host directory, on this shared filesystem.
    for (const dir of await hostDirsUnder(output)) await removeIfPresent(dir);
    await removeIfPresent(output);
  }
});

systemTest(
  "spirit check reaches every namespaced host and finds a taken port",
  PREREQS,
  async () => {
    await using net = await createNetnsHosts(3);
    // sshd listens on port 22 of the memory host: a memory server could not bind it.
    const report = await checkPlaybook(
      multihostPlaybook(net.hosts, "unused", { memserverPort: 22 }),
    );
    assert.deepEqual(Object.keys(report.facts).sort(), ["cn1", "cn2", "mem"]);
    assert.deepEqual(report.problems, [{ host: "mem", problem: "port 22 is already in use" }]);
  },
);

systemTest(
  "a compute host whose link is down for 20 s is an outage: the others go on, it comes back",
  PREREQS,
  async () => {
    await using net = await createNetnsHosts(3);
    const output = await Deno.makeTempDir({ prefix: "spirit-linkdown-" });
    const watch = new RunWatch(output);
    try {
      const durationMs = 34_000;
      const playbook = multihostPlaybook(net.hosts, output, {
        name: "linkdown",
        timing: { epoch: "1s", warmup: "2s", duration: `${durationMs}ms` },
      });
      const running = runPlaybook(playbook, { output: "quiet" }).finally(() => watch.ended = true);
      const info = await watch.info();
      await watch.epochs(4);
      await net.setLink(1, "down");
      const downAt = Date.now();
      // Wait on the wall clock here: the link is down for 20 s, whatever spirit does.
      await watch.event(
        "the outage",
        (e) => e.host === "cn1" && e.details?.fault === "host-unreachable",
      );
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, downAt + 20_000 - Date.now()))
      );
      await net.setLink(1, "up");
      const back = await watch.event("cn1 back", (e) => e.host === "cn1" && e.kind === "restart");
      const result = await running;
      assert.equal(result.interrupted, false);
      const dir = await watch.dir();
      const events = await watch.events();
      const faults = events.filter((e) => e.kind === "fault");
      assert.equal(faults.filter((e) => e.details?.fault === "host-unreachable").length, 1);
      assert.deepEqual(faults.filter((e) => e.host === "cn2"), [], "nothing wrong with cn2");

      const { records } = await readEpochs(dir);
      assert.deepEqual(records.map((r) => r.epoch), records.map((_, i) => i));
      assert.ok((records.at(-1)?.elapsedMs ?? 0) >= durationMs - 1000, "recorded to the end");
      const during = records.filter((r) => r.apps.some((a) => a.host === "cn1" && a.down));
      assert.ok(during.length >= 5, `${during.length} epochs with cn1 down`);
      for (const record of during) {
        for (const app of record.apps.filter((a) => a.host === "cn1")) {
          assert.match(app.down ?? "", /agent on cn1 unreachable/, `epoch ${record.epoch}`);
        }
        // The other compute node was measured all along.
        for (const app of record.apps.filter((a) => a.host === "cn2")) {
          assert.ok((app.opsPerSec ?? 0) > 0, `${app.name} in epoch ${record.epoch}`);
        }
      }
      const after = records.filter((r) => Date.parse(r.time) > Date.parse(back.time));
      for (const app of ["kv1", "scan1"]) {
        assert.ok(
          after.some((r) => (r.apps.find((a) => a.name === app)?.opsPerSec ?? 0) > 0),
          `${app} measured again after the link came back`,
        );
      }
      assert.deepEqual(await leftoversOf(info), []);
      for (const host of net.hosts) {
        assert.deepEqual(await commandsInNetns(host.netns), ["sshd"], `left in ${host.name}`);
      }
    } finally {
      await net.setLink(1, "up").catch(() => undefined);
      for (const dir of await hostDirsUnder(output)) await removeIfPresent(dir);
      await removeIfPresent(output);
    }
  },
);
