/**
 * The plan of a run: what runs where, derived from a validated playbook. Pure: a dry run
 * prints it, a real run carries it out.
 * @module
 */
import type { Allocation, DriverSpec, LaunchSpec } from "../../agent/protocol.ts";
import { loadgenArgs } from "../../loadgen/options.ts";
import { formatBytes, formatRate } from "../../common/units.ts";
import { equalSplit } from "../auction/equal_split.ts";
import type { AppLimits as MarketLimits, NodeMarket } from "../auction/market.ts";
import { buildModel } from "../auction/model.ts";
import {
  bytesOfBundle,
  mbpsOfBytesPerSec,
  mibOfBytes,
  type ResourceBytes,
} from "../auction/units.ts";
import { tokenFileOf } from "./host_dir.ts";
import type {
  App,
  ComputeHost,
  DriverSettings,
  MemoryHost,
  Playbook,
  Workload,
} from "../playbook/types.ts";
import { type Artifacts, KEEP_BUNDLES, KEEP_RUNTIMES } from "./deploy_cache.ts";
import { hostDirFor } from "./run_info.ts";

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
  /** CIDR blocks whose legacy RDMA clients are admitted without the run's secret. */
  rdmaLegacyAllow: string[];
}

/** One app to launch on a compute node. */
export interface AppPlan {
  name: string;
  host: string;
  /** The launch spec sent to the agent (allocation: the equal split). */
  launch: LaunchSpec;
  /** The app's water-filled equal split on its node (the static baseline), fixed for the run. */
  equal: ResourceBytes;
}

/** A compute node: its agent, market and apps. */
export interface ComputePlan {
  host: string;
  memoryNode: string;
  /** What the node's apps share. */
  capacity: ResourceBytes;
  /**
   * The node's market in the market's units, apps in `apps` order with their limits and a
   * placeholder model each (the loop puts the fitted models in).
   */
  market: NodeMarket;
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
    minCacheMiB: mibOfBytes(app.limits.minCacheBytes),
    maxCacheMiB: mibOfBytes(app.limits.maxCacheBytes),
    minBandwidthMbps: mbpsOfBytesPerSec(app.limits.minBandwidthBytesPerSec),
    maxBandwidthMbps: mbpsOfBytesPerSec(app.limits.maxBandwidthBytesPerSec),
  };
}

/** The model every app has in the plan's markets until the estimator fits one. */
export const PLACEHOLDER_MODEL = buildModel({ kind: "constant", opsPerSec: 0 });

/** The market of a compute node with placeholder models. */
export function nodeMarket(host: ComputeHost, apps: readonly App[]): NodeMarket {
  return {
    id: host.name,
    cacheMiB: mibOfBytes(host.cacheBytes),
    bandwidthMbps: mbpsOfBytesPerSec(host.bandwidthBytesPerSec),
    apps: apps.map((app) => ({
      id: app.name,
      model: PLACEHOLDER_MODEL,
      limits: marketLimits(app),
    })),
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

/** The agent's driver spec for a playbook driver (spirit loadgen runs as `kind: "spirit"`). */
export function driverSpec(driver: DriverSettings): DriverSpec {
  const common = {
    ...(Object.keys(driver.env).length > 0 ? { env: driver.env } : {}),
    ...(driver.cwd === undefined ? {} : { cwd: driver.cwd }),
  };
  if (driver.kind === "argv") return { kind: "argv", argv: driver.argv, ...common };
  return {
    kind: "spirit",
    args: loadgenArgs(driver.protocol, { server: driver.server, workload: driver.workload }),
    ...common,
  };
}

/** The memory-server arguments of `spirit memserver` for a plan (after `--listen`). */
export function memserverArgs(plan: MemserverPlan, tokenFile: string): string[] {
  return [
    "--capacity",
    String(plan.capacityBytes),
    "--transport",
    plan.transport,
    "--token-file",
    tokenFile,
    ...(plan.rdmaLegacyAllow.length === 0
      ? []
      : ["--rdma-legacy-allow", plan.rdmaLegacyAllow.join(",")]),
  ];
}

/**
 * The launch spec of one app. A workload uses the memory server's transport: `rdma` and `tcp`
 * are passed on as they are, `auto` makes it probe for RDMA as the server chose by its devices.
 */
export function launchSpec(
  app: App,
  options: {
    allocation: Allocation;
    memserver: string;
    tokenFile: string;
    seed: number;
    transport: MemoryHost["memserver"]["transport"];
  },
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
          "--transport",
          options.transport,
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
    // Absent: the agent throttles the node's default swap devices.
    ...(command.cgroup.swapDevices === undefined
      ? {}
      : { swapDevices: command.cgroup.swapDevices }),
    ...(Object.keys(command.env).length > 0 ? { env: command.env } : {}),
    ...(command.cwd === undefined ? {} : { cwd: command.cwd }),
    ...(command.driver === undefined ? {} : { driver: driverSpec(command.driver) }),
  };
  if (command.cgroup.path !== undefined) {
    return { ...common, enforcement: "cgroup-existing", path: command.cgroup.path };
  }
  return { ...common, enforcement: "cgroup", argv: command.argv ?? [] };
}

/** Derives the plan; `runId` names the run's files on every host. */
export function planRun(playbook: Playbook, runId: string): RunPlan {
  const hostDir = hostDirFor(runId);
  const tokenFile = tokenFileOf(hostDir);
  const hosts = Object.values(playbook.hosts);
  const memservers = hosts.filter((h): h is MemoryHost => h.role === "memory").map((host) => ({
    host: host.name,
    listenAddress: host.memserver.address ?? (host.ssh === null ? "127.0.0.1" : host.ssh.host),
    port: host.memserver.port,
    connectAddress: connectAddress(host),
    capacityBytes: host.memserver.capacityBytes,
    transport: host.memserver.transport,
    rdmaLegacyAllow: host.memserver.rdmaLegacyAllow,
  }));
  const computes = hosts.filter((h): h is ComputeHost => h.role === "compute").map((host) => {
    const apps = playbook.apps.filter((a) => a.host === host.name);
    const market = nodeMarket(host, apps);
    const equal = equalSplit(market).map(bytesOfBundle);
    const memserver = memservers.find((m) => m.host === host.memoryNode);
    const address = `${memserver?.connectAddress ?? "127.0.0.1"}:${memserver?.port ?? 0}`;
    return {
      host: host.name,
      memoryNode: host.memoryNode,
      capacity: { cacheBytes: host.cacheBytes, bandwidthBytesPerSec: host.bandwidthBytesPerSec },
      market,
      apps: apps.map((app, i) => {
        const share = equal[i] ?? { cacheBytes: 0, bandwidthBytesPerSec: 0 };
        return {
          name: app.name,
          host: host.name,
          equal: share,
          launch: launchSpec(app, {
            allocation: share,
            memserver: address,
            tokenFile,
            seed: playbook.seed + playbook.apps.indexOf(app),
            transport: memserver?.transport ?? "auto",
          }),
        };
      }),
    };
  });
  return { runId, hostDir, memservers, computes };
}

/** The launch spec with another allocation (a relaunch at the allocation in force). */
export function withAllocation(spec: LaunchSpec, allocation: Allocation): LaunchSpec {
  return { ...spec, allocation };
}

/** The memory-server address with the port the server actually bound. */
export function withPort(spec: LaunchSpec, memserver: string): LaunchSpec {
  if (spec.enforcement !== "farmem" || spec.program.kind !== "workload") return spec;
  const args = [...spec.program.args];
  const at = args.indexOf("--memserver");
  if (at >= 0) args[at + 1] = memserver;
  return { ...spec, program: { ...spec.program, args } };
}

/**
 * The plan as text, one host at a time: what a dry run prints. `shipped` (what deploy would copy
 * to hosts reached over SSH, with sizes and hashes) is required when the playbook has such hosts.
 */
export function describePlan(
  playbook: Playbook,
  plan: RunPlan,
  options: { shipped?: Artifacts | null } = {},
): string {
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
    if (host.ssh !== null) lines.push(...describeDeploy(options.shipped));
    lines.push(`  create ${plan.hostDir}/ (mode 0700)`);
    const memserver = plan.memservers.find((m) => m.host === host.name);
    if (memserver !== undefined) {
      lines.push(
        `  write ${plan.hostDir}/memserver.token (a fresh random secret, mode 0600)`,
        `  start: spirit memserver --listen ${memserver.listenAddress}:${memserver.port} ${
          memserverArgs(memserver, `${plan.hostDir}/memserver.token`).join(" ")
        }  (${formatBytes(memserver.capacityBytes)})`,
      );
    }
    const compute = plan.computes.find((c) => c.host === host.name);
    if (compute !== undefined) {
      lines.push(
        `  market: cache ${formatBytes(compute.capacity.cacheBytes)}, bandwidth ${
          formatRate(compute.capacity.bandwidthBytesPerSec)
        }, memory node ${compute.memoryNode}`,
      );
      if (compute.apps.some((a) => a.launch.enforcement === "farmem")) {
        lines.push(`  write ${plan.hostDir}/memserver.token (the memory node's secret, mode 0600)`);
      }
      lines.push(
        `  start: spirit agent --state-dir ${plan.hostDir}/agent-${host.name} (JSON lines over the connection's stdio)`,
      );
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
        if (launch.enforcement !== "farmem" && launch.driver !== undefined) {
          const argv = launch.driver.kind === "argv"
            ? launch.driver.argv
            : ["spirit", ...launch.driver.args];
          lines.push(`    driver: ${argv.join(" ")} (beside it, outside its cgroup)`);
        }
        if (launch.enforcement !== "farmem") {
          lines.push(
            `    swap devices: ${
              launch.swapDevices?.join(", ") ??
                "the node's default (its remote swap device, else every active one)"
            }`,
          );
        }
      }
    }
  }
  return lines.join("\n");
}

function describeDeploy(shipped: Artifacts | null | undefined): string[] {
  if (shipped === undefined || shipped === null) {
    return ["  deploy the Deno runtime and the spirit host bundle to the host's spirit cache"];
  }
  const { runtime, bundle } = shipped;
  return [
    "  deploy to the host's private spirit cache (~/.cache/spirit/), copying each file only when " +
    "missing or different and verifying its sha256 either way:",
    `    runtime/${runtime.sha256.slice(0, 12)}…/deno      ${formatBytes(runtime.bytes)} ` +
    "(the Deno running this controller)",
    `    bundle/${bundle.sha256.slice(0, 12)}…/spirit.js  ${formatBytes(bundle.bytes)} ` +
    "(host commands: agent, memserver, workload, exec)",
    `    then keep the ${KEEP_RUNTIMES} most recent runtimes and ${KEEP_BUNDLES} bundles there`,
  ];
}
