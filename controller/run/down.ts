/**
 * `spirit down`: idempotent cleanup of what runs left on their hosts (after a crash of the
 * controller, for example), for exactly the runs given (see run_records.ts for how they are
 * found): on each host, the agent's teardown (apps and their cgroups, then the node's remote
 * swap device), then any remote swap device the run's agent started that is still there (the
 * agent is gone, or failed: removed directly from the device state, by its label), then every
 * process whose command line names the run's host directory, then that directory. Reports what
 * it removed.
 * @module
 */
import type { AppStatus } from "../../agent/protocol.ts";
import type { RemovedDevice } from "../../remote_swap/protocol.ts";
import { closeAll, connectorFor, onHosts } from "../connectors/connect.ts";
import { Limiter } from "../connectors/limit.ts";
import { DEFAULT_SSH_MAX_PARALLEL } from "../playbook/types.ts";
import type { Connector } from "../connectors/types.ts";
import { AgentClient, REMOTE_SWAP_TEARDOWN_TIMEOUT_MS } from "./agent_client.ts";
import { deployRuntime } from "./deploy.ts";
import type { RecordedHost, RecordedRun } from "./run_records.ts";
import { localRuntime, type SpiritRuntime } from "./runtime.ts";

export { RUN_INFO_FILE, type RunInfo } from "./run_info.ts";

/** What `spirit down` removed on one host (empty lists: nothing was left there). */
export interface HostCleanup {
  host: string;
  /** Apps the agent stopped, as `<run id>: <app id>`. */
  apps: string[];
  /** Cgroups removed with those apps, as `<controller>:<path>`. */
  cgroups: string[];
  /** Remote swap devices removed, each with the steps done (swapoff, loop-detach, ...). */
  remoteSwap: RemovedDevice[];
  /** Processes stopped, as `<pid> <command line>`. */
  processes: string[];
  /** Run directories removed. */
  directories: string[];
  /** What went wrong on this host, if anything (the rest was still attempted). */
  errors: string[];
}

/** Longest wait for stopped processes to exit before they are killed. */
const TERM_GRACE_MS = 5_000;

/** The existing ones of `dirs` on the host, and the processes (pid, argv text) of the host. */
async function survey(
  connector: Connector,
  dirs: readonly string[],
): Promise<{ existing: string[]; processes: Array<{ pid: number; args: string }> }> {
  const result = await connector.exec([
    "sh",
    "-c",
    'for d in "$@"; do if [ -e "$d" ] || [ -L "$d" ]; then printf "dir\\t%s\\n" "$d"; fi; done; ' +
    "ps -ww -eo pid=,args= | sed 's/^ *\\([0-9][0-9]*\\) /ps\\t\\1\\t/'",
    "spirit-down",
    ...dirs,
  ]);
  const existing: string[] = [];
  const processes: Array<{ pid: number; args: string }> = [];
  for (const line of result.stdout.split("\n")) {
    const [kind, first = "", ...rest] = line.split("\t");
    if (kind === "dir") existing.push(first);
    else if (kind === "ps") processes.push({ pid: Number(first), args: rest.join("\t") });
  }
  return { existing, processes };
}

/**
 * Tears down the agent of one run on a compute host; returns its apps (with their cgroups) and
 * the remote swap device it removed.
 */
async function teardownAgent(
  connector: Connector,
  runtime: SpiritRuntime,
  options: { stateDir: string; remoteSwap: boolean },
): Promise<{ apps: AppStatus[]; remoteSwap: RemovedDevice | null }> {
  const { stateDir } = options;
  const process = await connector.spawn(
    runtime.command(["agent", "--state-dir", stateDir, "--no-autostart"]),
  );
  let agent: AgentClient;
  try {
    agent = await AgentClient.attach(connector.host, process, { timeoutMs: 15_000 });
  } catch (error) {
    await process.kill("SIGKILL").catch(() => undefined);
    await process.status;
    await process.stdout.cancel().catch(() => undefined);
    await process.stderr.cancel().catch(() => undefined);
    throw error;
  }
  try {
    const apps = agent.attached.apps;
    const result = await agent.teardown({
      shutdown: true,
      ...(options.remoteSwap ? { timeoutMs: REMOTE_SWAP_TEARDOWN_TIMEOUT_MS } : {}),
    });
    return { apps, remoteSwap: result.remoteSwap ?? null };
  } finally {
    await agent.close();
  }
}

/**
 * Removes the remote swap devices the agent with state directory `label` started, straight from
 * the device state on the host (`spirit remote-swap down --label`): those its own teardown did
 * not remove because it is gone or failed. None when there are none left.
 */
async function removeLabelledSwap(
  connector: Connector,
  runtime: SpiritRuntime,
  label: string,
): Promise<RemovedDevice[]> {
  const result = await connector.exec(
    runtime.command(["remote-swap", "down", "--label", label, "--json"]),
  );
  const document = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "") as {
    removed?: RemovedDevice[];
  };
  if (!Array.isArray(document.removed)) {
    throw new Error(`remote-swap down --label answered ${result.stdout.trim().slice(-300)}`);
  }
  return document.removed;
}

/** Stops `pids` (SIGTERM, then SIGKILL after TERM_GRACE_MS); waits until they are gone. */
async function stopProcesses(connector: Connector, pids: readonly number[]): Promise<void> {
  if (pids.length === 0) return;
  const argv = pids.map(String);
  await connector.exec(["kill", "-TERM", ...argv], { check: false });
  const deadline = Date.now() + TERM_GRACE_MS;
  for (;;) {
    const alive = await connector.exec(
      ["sh", "-c", 'for p in "$@"; do kill -0 "$p" 2>/dev/null && echo "$p"; done; true', "sh"]
        .concat(argv),
    );
    const left = alive.stdout.split("\n").filter((l) => l.trim() !== "");
    if (left.length === 0) return;
    if (Date.now() >= deadline) {
      await connector.exec(["kill", "-KILL", ...left], { check: false });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The hosts of some runs that are one machine (same SSH target, or this machine), and those runs. */
interface Machine {
  hosts: RecordedHost[];
  runs: RecordedRun[];
}

async function downOnMachine(connector: Connector, machine: Machine): Promise<HostCleanup> {
  const cleanup: HostCleanup = {
    host: connector.host,
    apps: [],
    cgroups: [],
    remoteSwap: [],
    processes: [],
    directories: [],
    errors: [],
  };
  const byDir = new Map(machine.runs.map((run) => [run.info.hostDir, run]));
  const { existing } = await survey(connector, [...byDir.keys()]);
  // Agents first (they stop their apps and remove their cgroups), then whatever is left.
  for (const dir of existing) {
    const run = byDir.get(dir);
    if (run === undefined) continue;
    for (const host of machine.hosts.filter((h) => h.role === "compute")) {
      const recorded = run.hosts.find((h) => h.name === host.name);
      if (recorded === undefined) continue;
      const stateDir = `${dir}/agent-${host.name}`;
      const present = await connector.exec(["test", "-d", stateDir], { check: false });
      if (present.code !== 0) continue;
      const fail = (what: string, error: unknown) =>
        cleanup.errors.push(
          `${what} ${host.name} of run ${run.info.runId}: ${(error as Error).message}`,
        );
      let runtime: SpiritRuntime;
      try {
        runtime = host.ssh === null ? localRuntime() : await deployRuntime(connector);
      } catch (error) {
        fail("runtime for", error);
        continue;
      }
      try {
        const { apps, remoteSwap } = await teardownAgent(connector, runtime, {
          stateDir,
          remoteSwap: recorded.remoteSwap,
        });
        for (const app of apps) {
          cleanup.apps.push(`${run.info.runId}: ${app.appId}`);
          for (const [controller, path] of Object.entries(app.cgroups)) {
            cleanup.cgroups.push(`${controller}:${path}`);
          }
        }
        if (remoteSwap !== null) cleanup.remoteSwap.push(remoteSwap);
      } catch (error) {
        fail("agent", error);
      }
      // Before the processes below: their sweep would kill the swap engine serving swapped pages.
      if (!recorded.remoteSwap) continue;
      try {
        cleanup.remoteSwap.push(...await removeLabelledSwap(connector, runtime, stateDir));
      } catch (error) {
        fail("remote swap of", error);
      }
    }
  }
  // Memory servers, daemons and workloads all carry the run directory in their argv. The
  // survey runs again: the agent teardown above ended some of them.
  const { processes } = await survey(connector, []);
  const marks = [...byDir.keys()].map((dir) => `${dir}/`);
  const left = processes.filter((p) => marks.some((mark) => p.args.includes(mark)));
  await stopProcesses(connector, left.map((p) => p.pid));
  cleanup.processes.push(...left.map((p) => `${p.pid} ${p.args}`));
  if (existing.length > 0) {
    const removed = await connector.exec(["rm", "-rf", "--", ...existing], { check: false });
    if (removed.code === 0) cleanup.directories.push(...existing);
    else cleanup.errors.push(`rm -rf ${existing.join(" ")}: ${removed.stderr.trim()}`);
  }
  return cleanup;
}

/**
 * Cleans up `runs` on their hosts: each machine once (hosts with the same SSH target, or all
 * hosts on this machine, are one), all machines in parallel. A machine that cannot be reached
 * is reported with its error; the others are still cleaned.
 */
export async function down(
  runs: readonly RecordedRun[],
  options: { sshMaxParallel?: number } = {},
): Promise<HostCleanup[]> {
  const limiter = new Limiter(options.sshMaxParallel ?? DEFAULT_SSH_MAX_PARALLEL);
  const machines = new Map<string, Machine>();
  for (const run of runs) {
    for (const host of run.hosts) {
      const key = host.ssh === null ? "this machine" : JSON.stringify(host.ssh);
      const machine = machines.get(key) ?? { hosts: [], runs: [] };
      if (!machine.hosts.some((h) => h.name === host.name)) machine.hosts.push(host);
      if (!machine.runs.includes(run)) machine.runs.push(run);
      machines.set(key, machine);
    }
  }
  const list = [...machines.values()];
  const connectors = list.map((m) =>
    connectorFor({
      name: m.hosts.map((h) => h.name).join("+"),
      ssh: m.hosts[0]?.ssh ?? null,
    }, { limiter })
  );
  try {
    const outcomes = await onHosts(connectors, (connector) => {
      const machine = list[connectors.indexOf(connector)];
      if (machine === undefined) throw new Error(`no machine for ${connector.host}`);
      return downOnMachine(connector, machine);
    });
    return outcomes.map((o) =>
      o.ok ? o.value : {
        host: o.host,
        apps: [],
        cgroups: [],
        remoteSwap: [],
        processes: [],
        directories: [],
        errors: [o.error instanceof Error ? o.error.message : String(o.error)],
      }
    );
  } finally {
    await closeAll(connectors).catch(() => undefined);
  }
}
