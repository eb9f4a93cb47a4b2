/**
 * `spirit down PLAYBOOK|RUN_DIR`: idempotent cleanup of what a run left on its hosts (after a
 * crash of the controller, for example): agent teardown (apps, cgroups), then any process of
 * the run, then the run's directory on each host.
 * @module
 */
import { closeAll, connectorFor, onHosts } from "../connectors/connect.ts";
import type { Connector } from "../connectors/types.ts";
import type { Playbook } from "../playbook/types.ts";
import { AgentClient } from "./agent_client.ts";
import { deployRuntime } from "./deploy.ts";
import { localRuntime } from "./runtime.ts";

/** Written to a run directory so `spirit down RUN_DIR` finds what the run created. */
export interface RunInfo {
  runId: string;
  hostDir: string;
  startedAt: string;
}

/** File name of RunInfo in a run directory. */
export const RUN_INFO_FILE = "run.json";

/** The run directories on a host: `hostDir` when given, else every run of the playbook. */
async function runDirsOn(
  connector: Connector,
  playbook: Playbook,
  hostDir?: string,
): Promise<string[]> {
  if (hostDir !== undefined) return [hostDir];
  const listed = await connector.exec(
    [
      "sh",
      "-c",
      'for d in /tmp/spirit-"$1"-*; do [ -d "$d" ] && echo "$d"; done; true',
      "sh",
      playbook.name,
    ],
  );
  return listed.stdout.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

async function downOnHost(
  connector: Connector,
  playbook: Playbook,
  hostDir?: string,
): Promise<string[]> {
  const host = playbook.hosts[connector.host];
  if (host === undefined) return [];
  const done: string[] = [];
  for (const dir of await runDirsOn(connector, playbook, hostDir)) {
    if (host.role === "compute") {
      const stateDir = `${dir}/agent-${host.name}`;
      const present = await connector.exec(["test", "-d", stateDir], { check: false });
      if (present.code === 0) {
        const runtime = host.ssh === null ? localRuntime() : await deployRuntime(connector);
        const process = await connector.spawn(
          runtime.command(["agent", "--state-dir", stateDir, "--no-autostart"]),
        );
        try {
          const agent = await AgentClient.attach(connector.host, process, { timeoutMs: 15_000 });
          await agent.teardown({ shutdown: true }).catch(() => undefined);
          await agent.close();
          done.push(`${dir}: agent torn down`);
        } catch {
          await process.kill("SIGKILL").catch(() => undefined);
          await process.status;
          await process.stdout.cancel().catch(() => undefined);
          await process.stderr.cancel().catch(() => undefined);
        }
      }
    }
    // Memory servers, daemons and workloads all carry the run directory in their argv.
    await connector.exec(["pkill", "-TERM", "-f", `${dir}/`], { check: false });
    await connector.exec(["rm", "-rf", dir], { check: false });
    done.push(`${dir}: processes stopped, directory removed`);
  }
  return done;
}

/** Cleans up one run (given its host directory) or every run of the playbook. */
export async function down(
  playbook: Playbook,
  options: { hostDir?: string } = {},
): Promise<{ host: string; done: string[]; error?: string }[]> {
  const connectors = Object.values(playbook.hosts).map((h) => connectorFor(h));
  try {
    const outcomes = await onHosts(connectors, (c) => downOnHost(c, playbook, options.hostDir));
    return outcomes.map((o) =>
      o.ok ? { host: o.host, done: o.value } : {
        host: o.host,
        done: [],
        error: o.error instanceof Error ? o.error.message : String(o.error),
      }
    );
  } finally {
    await closeAll(connectors).catch(() => undefined);
  }
}
