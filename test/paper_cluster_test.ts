/**
 * System test: the paper's 24-app cluster (playbooks/paper/cluster_24.ts) for real, over OpenSSH
 * into five network namespaces (one memory node, four compute nodes), its hosts given the way a
 * user gives them: a hosts file named by SPIRIT_PAPER_HOSTS. Kept short (25 s, 2 measured
 * epochs): it shows the experiment runs end to end and leaves nothing behind, not its figures.
 * @module
 */
import assert from "node:assert/strict";
import { readEpochs } from "../controller/results/read.ts";
import type { RunInfo } from "../controller/run/run_info.ts";
import { CLUSTER_HOSTS, HOSTS_ENV } from "../playbooks/paper/cluster_24.ts";
import { createNetnsHosts, type NetnsHost } from "./fixtures/netns_hosts.ts";
import { processesMentioning } from "./fixtures/processes.ts";
import { CLI } from "./fixtures/spirit_cli.ts";
import { commandOnPath, ROOT, systemTest } from "./prereq.ts";

const PLAYBOOK = new URL("../playbooks/paper/cluster_24.ts", import.meta.url).pathname;

/** A playbook `ssh` entry for a namespaced host (what a user writes into the hosts file). */
function sshEntry(host: NetnsHost) {
  const { ssh } = host;
  return {
    host: ssh.host,
    user: ssh.user,
    port: ssh.port,
    identityFile: ssh.identityFile,
    knownHostsFile: ssh.knownHostsFile,
    connectTimeout: `${ssh.connectTimeoutMs}ms`,
  };
}

systemTest(
  "paper cluster_24 runs 24 apps on four compute nodes over SSH from a hosts file",
  [ROOT, commandOnPath("sshd"), commandOnPath("ssh"), commandOnPath("ip")],
  async () => {
    await using net = await createNetnsHosts(CLUSTER_HOSTS.length);
    const dir = await Deno.makeTempDir({ prefix: "spirit-paper-cluster-" });
    try {
      const hostsFile = `${dir}/hosts.json`;
      const entries = CLUSTER_HOSTS.map((name, i) => {
        const host = net.hosts[i];
        assert.ok(host !== undefined, `no namespaced host for ${name}`);
        return [name, sshEntry(host)];
      });
      await Deno.writeTextFile(hostsFile, JSON.stringify(Object.fromEntries(entries)));
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", CLI, "run", PLAYBOOK, "--duration", "25s", "--out", dir],
        env: { [HOSTS_ENV]: hostsFile },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(run.stderr);
      assert.equal(run.code, 0, stderr);
      const runDir = /Results: (\S+)/.exec(new TextDecoder().decode(run.stdout))?.[1] ?? "";
      const info = JSON.parse(await Deno.readTextFile(`${runDir}/run.json`)) as RunInfo;
      const playbook = JSON.parse(await Deno.readTextFile(`${runDir}/playbook.json`));
      assert.equal(playbook.hosts.cn3.ssh.host, net.hosts[3]?.address);
      const { records } = await readEpochs(runDir);
      const measured = records.filter((r) => r.phase === "measure");
      assert.ok(measured.length >= 1, `${measured.length} measured epochs`);
      for (const record of measured) {
        assert.deepEqual(record.nodes.map((n) => n.host), ["cn1", "cn2", "cn3", "cn4"]);
        assert.equal(record.apps.length, 24);
      }
      // Every app ran and reported throughput in some measured epoch.
      for (const app of records[0]?.apps ?? []) {
        assert.ok(
          measured.some((r) => (r.apps.find((a) => a.name === app.name)?.opsPerSec ?? 0) > 0),
          `${app.name} reported no throughput`,
        );
      }
      // Nothing of the run is left on the hosts.
      assert.deepEqual(await processesMentioning(info.runId), []);
      await assert.rejects(Deno.stat(info.hostDir), Deno.errors.NotFound);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
