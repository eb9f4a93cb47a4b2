/**
 * The plan of a run: what runs where, derived from a validated playbook. Pure: a dry run
 * prints it, a real run carries it out.
 * @module
 */
import type { Allocation, LaunchSpec } from "../../agent/protocol.ts";
import {
  BYTES_PER_MIB,
  BYTES_PER_SEC_PER_MBPS,
  formatBytes,
  formatRate,
} from "../../common/units.ts";
import { equalSplit } from "../auction/equal_split.ts";
import type { AppLimits as MarketLimits, NodeMarket } from "../auction/market.ts";
import { buildModel } from "../auction/model.ts";
import type {
  App,
  ComputeHost,
  MemoryHost,
  Playbook,
  RemoteSwapSettings,
  Workload,
} from "../playbook/types.ts";

/** A memory server to start. */
export interface MemserverPlan {
  host: string;
  /** Address the server binds to (only there). */
  listenAddress: string;
  /** Port from the playbook; 0 lets the server pick (the ready line tells which). */
  port: number;
  /** Address compute nodes connect to. */
  connectAddress: string;
  capacityBytes: number;
  transport: MemoryHost["memserver"]["transport"];
}

/** One app to launch on a compute node. */
export interface AppPlan {
  name: string;
  host: string;
  /** The launch spec sent to the agent (allocation: the equal split). */
  launch: LaunchSpec;
}

/** A compute node: its agent, market and apps. */
export interface ComputePlan {
  host: string;
  memoryNode: string;
  /** Its remote swap device, started before the apps (null: none). */
  remoteSwap: RemoteSwapSettings | null;
  market: { cacheMiB: number; bandwidthMbps: number };
  apps: AppPlan[];
}

/** Everything a run will do. */
export interface RunPlan {
  runId: string;
  /** Directory for the run's files on every host (token, logs). */
  hostDir: string;
  memservers: MemserverPlan[];
  computes: ComputePlan[];
}

/** Per-app limits in the market's units. */
export function marketLimits(app: App): MarketLimits {
  return {
    minCacheMiB: app.limits.minCacheBytes / BYTES_PER_MIB,
    maxCacheMiB: app.limits.maxCacheBytes / BYTES_PER_MIB,
    minBandwidthMbps: app.limits.minBandwidthBytesPerSec / BYTES_PER_SEC_PER_MBPS,
    maxBandwidthMbps: app.limits.maxBandwidthBytesPerSec / BYTES_PER_SEC_PER_MBPS,
  };
}

/** The market of a compute node with placeholder models (for the equal split). */
export function nodeMarket(host: ComputeHost, apps: readonly App[]): NodeMarket {
  const placeholder = buildModel({ kind: "constant", opsPerSec: 0 });
  return {
    id: host.name,
    cacheMiB: host.cacheBytes / BYTES_PER_MIB,
    bandwidthMbps: host.bandwidthBytesPerSec / BYTES_PER_SEC_PER_MBPS,
    apps: apps.map((app) => ({ id: app.name, model: placeholder, limits: marketLimits(app) })),
  };
}

/** Converts a market bundle to the agent's allocation. */
export function toAllocation(bundle: { cacheMiB: number; bandwidthMbps: number }): Allocation {
  return {
    cacheBytes: Math.floor(bundle.cacheMiB * BYTES_PER_MIB),
    bandwidthBytesPerSec: Math.floor(bundle.bandwidthMbps * BYTES_PER_SEC_PER_MBPS),
  };
}

/** The address compute nodes use to reach a memory host's server. */
export function connectAddress(host: MemoryHost): string {
  return host.memserver.address ?? host.ssh?.host ?? "127.0.0.1";
}

function workloadArgs(workload: Workload, options: { seed: number }): string[] {
  const args = ["--dataset", String(workload.datasetBytes), "--seed", String(options.seed)];
  if (workload.kind === "kv" || workload.kind === "phased") {
    args.push(
      "--skew",
      String(workload.zipf),
      "--value-size",
      String(workload.valueBytes),
      "--read-ratio",
      String(workload.readRatio),
      "--concurrency",
      String(workload.concurrency),
    );
  }
  if (workload.kind === "phased") {
    args.push("--schedule", workload.phases.map((p) => `${p.kind}:${p.durationMs}ms`).join(","));
  }
  return args;
}

/** The launch spec of one app. */
export function launchSpec(
  app: App,
  options: { allocation: Allocation; memserver: string; tokenFile: string; seed: number },
): LaunchSpec {
  if (app.kind === "workload") {
    return {
      appId: app.name,
      allocation: options.allocation,
      enforcement: "farmem",
      program: {
        kind: "workload",
        workload: app.workload.kind,
        args: [
          "--memserver",
          options.memserver,
          "--token-file",
          options.tokenFile,
          ...workloadArgs(app.workload, { seed: options.seed }),
        ],
      },
    };
  }
  const { command } = app;
  const common = {
    appId: app.name,
    allocation: options.allocation,
    throughput: command.throughput,
    // None named: the agent's default (the node's remote swap device, else every active one).
    ...(command.cgroup.swapDevices.length === 0 ? {} : { swapDevices: command.cgroup.swapDevices }),
    ...(Object.keys(command.env).length > 0 ? { env: command.env } : {}),
    ...(command.cwd === undefined ? {} : { cwd: command.cwd }),
  };
  if (command.cgroup.path !== undefined) {
    return { ...common, enforcement: "cgroup-existing", path: command.cgroup.path };
  }
  return { ...common, enforcement: "cgroup", argv: command.argv ?? [] };
}

/** Derives the plan; `runId` names the run's files on every host. */
export function planRun(playbook: Playbook, runId: string): RunPlan {
  const hostDir = `/tmp/spirit-${runId}`;
  const tokenFile = `${hostDir}/memserver.token`;
  const hosts = Object.values(playbook.hosts);
  const memservers = hosts.filter((h): h is MemoryHost => h.role === "memory").map((host) => ({
    host: host.name,
    listenAddress: host.memserver.address ?? (host.ssh === null ? "127.0.0.1" : host.ssh.host),
    port: host.memserver.port,
    connectAddress: connectAddress(host),
    capacityBytes: host.memserver.capacityBytes,
    transport: host.memserver.transport,
  }));
  const computes = hosts.filter((h): h is ComputeHost => h.role === "compute").map((host) => {
    const apps = playbook.apps.filter((a) => a.host === host.name);
    const market = nodeMarket(host, apps);
    const equal = equalSplit(market);
    const memserver = memservers.find((m) => m.host === host.memoryNode);
    const address = `${memserver?.connectAddress ?? "127.0.0.1"}:${memserver?.port ?? 0}`;
    return {
      host: host.name,
      memoryNode: host.memoryNode,
      remoteSwap: host.remoteSwap,
      market: { cacheMiB: market.cacheMiB, bandwidthMbps: market.bandwidthMbps },
      apps: apps.map((app, i) => ({
        name: app.name,
        host: host.name,
        launch: launchSpec(app, {
          allocation: toAllocation(equal[i] ?? { cacheMiB: 0, bandwidthMbps: 0 }),
          memserver: address,
          tokenFile,
          seed: playbook.seed + playbook.apps.indexOf(app),
        }),
      })),
    };
  });
  return { runId, hostDir, memservers, computes };
}

/** The memory-server address with the port the server actually bound. */
export function withPort(spec: LaunchSpec, memserver: string): LaunchSpec {
  if (spec.enforcement !== "farmem" || spec.program.kind !== "workload") return spec;
  const args = [...spec.program.args];
  const at = args.indexOf("--memserver");
  if (at >= 0) args[at + 1] = memserver;
  return { ...spec, program: { ...spec.program, args } };
}

/** The plan as text, one host at a time: what a dry run prints. */
export function describePlan(playbook: Playbook, plan: RunPlan): string {
  const lines: string[] = [
    `Playbook ${playbook.name}: policy ${playbook.policy}, epoch ${playbook.epochMs} ms, ` +
    `duration ${playbook.durationMs === null ? "until stopped" : `${playbook.durationMs} ms`}, ` +
    `warm-up ${playbook.warmupMs} ms, results under ${playbook.output}/`,
  ];
  for (const host of Object.values(playbook.hosts)) {
    const where = host.ssh === null
      ? "this machine (no SSH)"
      : `ssh ${host.ssh.user ? `${host.ssh.user}@` : ""}${host.ssh.host}${
        host.ssh.port ? `:${host.ssh.port}` : ""
      }`;
    lines.push("", `host ${host.name} (${host.role}, ${where})`);
    if (host.ssh !== null) {
      lines.push(
        `  copy the Deno runtime and the spirit bundle to ~/.cache/spirit/<content hash>/ (skipped when present)`,
      );
    }
    lines.push(`  create ${plan.hostDir}/ (mode 0700)`);
    const memserver = plan.memservers.find((m) => m.host === host.name);
    if (memserver !== undefined) {
      lines.push(
        `  write ${plan.hostDir}/memserver.token (a fresh random secret, mode 0600)`,
        `  start: spirit memserver --listen ${memserver.listenAddress}:${memserver.port} --capacity ${memserver.capacityBytes} --transport ${memserver.transport} --token-file ${plan.hostDir}/memserver.token  (${
          formatBytes(memserver.capacityBytes)
        })`,
      );
    }
    const compute = plan.computes.find((c) => c.host === host.name);
    if (compute !== undefined) {
      lines.push(
        `  market: cache ${compute.market.cacheMiB.toFixed(0)} MiB, bandwidth ${
          compute.market.bandwidthMbps.toFixed(0)
        } Mbps, memory node ${compute.memoryNode}`,
      );
      if (compute.apps.some((a) => a.launch.enforcement === "farmem")) {
        lines.push(`  write ${plan.hostDir}/memserver.token (the memory node's secret, mode 0600)`);
      }
      lines.push(
        `  start: spirit agent --state-dir ${plan.hostDir}/agent-${host.name} (JSON lines over the connection's stdio)`,
      );
      if (compute.remoteSwap !== null) {
        lines.push(
          `  remote swap: ${formatBytes(compute.remoteSwap.sizeBytes)} on ${compute.memoryNode}, ` +
            `priority ${compute.remoteSwap.priority} (FUSE + loop device; before the apps, ` +
            "removed after them)",
        );
      }
      for (const app of compute.apps) {
        const { launch } = app;
        const start = `${formatBytes(launch.allocation.cacheBytes)} cache, ${
          formatRate(launch.allocation.bandwidthBytesPerSec)
        }`;
        const what = launch.enforcement === "farmem"
          ? `workload ${
            launch.program.kind === "workload"
              ? `${launch.program.workload} ${launch.program.args.join(" ")}`
              : launch.program.argv.join(" ")
          }`
          : launch.enforcement === "cgroup"
          ? `command ${launch.argv.join(" ")} in a new cgroup`
          : `adopt cgroup ${launch.path}`;
        lines.push(
          `  launch ${app.name}: ${what} (starts at ${start}, enforced by ${launch.enforcement})`,
        );
      }
    }
  }
  return lines.join("\n");
}
