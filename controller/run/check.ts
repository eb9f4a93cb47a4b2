/**
 * `spirit check PLAYBOOK`: reaches every host in parallel, gathers its facts and reports every
 * problem at once (unreachable host, runtime that cannot run there, missing cgroup controller,
 * no swap device for cgroup apps, RDMA asked for but absent or unreachable, port in use, what
 * a remote swap device needs), and warnings (zswap, swap devices ahead of the remote one).
 * @module
 */
import type { HostFacts } from "../../agent/protocol.ts";
import { closeAll, connectorFor, onHosts } from "../connectors/connect.ts";
import { Limiter } from "../connectors/limit.ts";
import type { Connector } from "../connectors/types.ts";
import type { Host, Playbook } from "../playbook/types.ts";
import { rdmaReachProblems, remoteSwapFindings } from "./check_remote_memory.ts";
import { deploy, prepareArtifacts } from "./deploy.ts";
import { FACTS_SCRIPT, parseFactsSnapshot } from "./facts_snapshot.ts";

/** One problem found on one host. */
export interface CheckProblem {
  host: string;
  problem: string;
}

/** What `checkPlaybook` found. */
export interface CheckReport {
  facts: Record<string, HostFacts>;
  /** What would make the run fail (exit status 1). */
  problems: CheckProblem[];
  /** What would let it run, but not as intended (e.g. zswap in front of the remote device). */
  warnings: CheckProblem[];
  /** Failed connection attempts that were retried, by host (hosts reached at once are absent). */
  retriedLogins: Record<string, number>;
}

/** The problems of one host given its facts (pure). */
export function hostProblems(
  playbook: Playbook,
  host: Host,
  facts: HostFacts,
  extra: { uid: number; portInUse: boolean },
): string[] {
  const problems: string[] = [];
  if (host.role === "memory") {
    if (host.memserver.transport === "rdma" && facts.rdmaDevices.length === 0) {
      problems.push("RDMA asked for (transport rdma) but the host has no RDMA device");
    }
    if (extra.portInUse) problems.push(`port ${host.memserver.port} is already in use`);
    return problems;
  }
  const cgroupApps = playbook.apps.filter((a) => a.host === host.name && a.kind === "command");
  if (cgroupApps.length === 0) return problems;
  if (extra.uid !== 0) problems.push("cgroup apps need root; the SSH user is not root");
  if (facts.cgroup.memory === null) problems.push("no memory cgroup controller is mounted");
  if (facts.cgroup.io === null) {
    problems.push("no io (v2) or blkio (v1) cgroup controller is mounted");
  }
  const active = new Set(facts.swapDevices.map((s) => s.path));
  for (const app of cgroupApps) {
    if (app.kind !== "command") continue;
    const wanted = app.command.cgroup.swapDevices ?? [];
    if (wanted.length === 0 && active.size === 0) {
      problems.push(`app ${app.name}: no active swap device (remote memory) on the host`);
    }
    for (const device of wanted) {
      if (!active.has(device)) {
        problems.push(`app ${app.name}: swap device ${device} is not an active swap device`);
      }
    }
  }
  return problems;
}

/**
 * One host's facts, user id and (memory nodes) whether the server's port is taken, in one SSH
 * session: the shell probe of facts_snapshot.ts, which also runs the deployed runtime's
 * `--version` (locally, this controller's Deno).
 */
async function probe(
  connector: Connector,
  playbook: Playbook,
  host: Host,
): Promise<{ facts: HostFacts; problems: string[]; warnings: string[] }> {
  const port = host.role === "memory" ? host.memserver.port : 0;
  const script = ["sh", "-c", FACTS_SCRIPT, "spirit-facts", String(port)];
  let result: { stdout: string; stderr: string; code: number };
  if (host.ssh === null) {
    result = await connector.exec(script, {
      env: { SPIRIT_RUNTIME: Deno.execPath() },
      timeoutMs: 60_000,
      check: false,
    });
  } else {
    // Deploying checks the host's architecture first; when its cache is current, the probe
    // follows in the same round trip (`then`, which sets SPIRIT_RUNTIME), else once the copy
    // is done.
    const deployed = await deploy(connector, { then: { argv: script, timeoutMs: 60_000 } });
    result = deployed.then ?? await connector.exec(script, {
      env: { SPIRIT_RUNTIME: deployed.paths.deno },
      timeoutMs: 60_000,
      check: false,
    });
  }
  if (result.code !== 0) {
    throw new Error(
      `the facts probe failed (exit ${result.code}): ${
        result.stderr.trim().split("\n").slice(-3).join(" | ")
      }`,
    );
  }
  const { facts, uid, portInUse } = parseFactsSnapshot(result.stdout, connector.host);
  const remote = remoteSwapFindings(playbook, host, facts);
  return {
    facts,
    problems: [...hostProblems(playbook, host, facts, { uid, portInUse }), ...remote.problems],
    warnings: remote.warnings,
  };
}

/** The warning for connection attempts that failed and were retried, or null (pure). */
export function retriedWarning(failed: readonly string[]): string | null {
  if (failed.length === 0) return null;
  return `${failed.length} connection attempt${failed.length === 1 ? "" : "s"} failed and ${
    failed.length === 1 ? "was" : "were"
  } retried (last: ${failed.at(-1)})`;
}

/** Checks every host of a playbook in parallel. */
export async function checkPlaybook(playbook: Playbook): Promise<CheckReport> {
  const hosts = Object.values(playbook.hosts);
  const limiter = new Limiter(playbook.ssh.maxParallel);
  const connectors = hosts.map((h) => connectorFor(h, { limiter }));
  // Bundle while the connections open; each probe awaits (and reports) the same promise.
  if (hosts.some((h) => h.ssh !== null)) prepareArtifacts().catch(() => undefined);
  try {
    const outcomes = await onHosts(connectors, (c) => {
      const host = playbook.hosts[c.host];
      if (host === undefined) throw new Error(`unknown host ${c.host}`);
      return probe(c, playbook, host);
    });
    const report: CheckReport = { facts: {}, problems: [], warnings: [], retriedLogins: {} };
    for (const outcome of outcomes) {
      if (!outcome.ok) {
        const message = outcome.error instanceof Error
          ? outcome.error.message
          : String(outcome.error);
        report.problems.push({
          host: outcome.host,
          problem: /missing runtime/.test(message)
            ? message.slice(message.indexOf("missing runtime"))
            : `unreachable or failing: ${message}`,
        });
        continue;
      }
      report.facts[outcome.host] = outcome.value.facts;
      // Reached, but not at once: a slow or flaky link (unreachable hosts are problems above).
      const failed = connectors.find((c) => c.host === outcome.host)?.failedAttempts ?? [];
      const retried = retriedWarning(failed);
      if (retried !== null) {
        report.warnings.push({ host: outcome.host, problem: retried });
        report.retriedLogins[outcome.host] = failed.length;
      }
      for (const problem of outcome.value.problems) {
        report.problems.push({ host: outcome.host, problem });
      }
      for (const problem of outcome.value.warnings) {
        report.warnings.push({ host: outcome.host, problem });
      }
    }
    report.problems.push(...rdmaReachProblems(playbook, report.facts));
    return report;
  } finally {
    await closeAll(connectors).catch(() => undefined);
  }
}

/** The report as text. */
export function formatCheck(report: CheckReport): string {
  const lines: string[] = [];
  for (const [host, f] of Object.entries(report.facts)) {
    lines.push(
      `${host}: ${f.hostname}, Linux ${f.kernel.release}, ${f.cpus} CPUs, ${
        (f.memoryBytes / 2 ** 30).toFixed(1)
      } GiB, ` +
        `cgroup ${f.cgroup.layout} (memory: ${
          f.cgroup.memory === null ? "none" : `v${f.cgroup.memory.version}`
        }, io: ${f.cgroup.io === null ? "none" : `v${f.cgroup.io.version}`}), ` +
        `swap: ${f.swapDevices.map((s) => s.path).join(", ") || "none"}, RDMA: ${
          f.rdmaDevices.join(", ") || "none"
        }, ` +
        `hardware perf counters: ${f.hardwarePerfCounters ? "yes" : "no"}`,
    );
    const swap = f.remoteSwapSupport;
    lines.push(
      `  remote swap: /dev/fuse ${
        swap.devFuse ? "yes" : "no"
      }, /dev/loop-control ${swap.loopControl}, ` +
        `fusermount3 ${swap.fusermount3 ?? "not installed"}, zswap ${
          swap.zswapEnabled === null
            ? "not in this kernel"
            : swap.zswapEnabled
            ? "enabled"
            : "disabled"
        }, swap priorities: ${
          f.swapDevices.map((s) => `${s.path} ${s.priority}`).join(", ") || "none"
        }`,
    );
  }
  const list = (what: string, items: readonly CheckProblem[]) => {
    lines.push(`${items.length} ${what}${items.length === 1 ? "" : "s"}:`);
    for (const p of items) lines.push(`  ${p.host}: ${p.problem}`);
  };
  if (report.problems.length === 0) lines.push("No problems found.");
  else list("problem", report.problems);
  if (report.warnings.length > 0) list("warning", report.warnings);
  return lines.join("\n");
}
