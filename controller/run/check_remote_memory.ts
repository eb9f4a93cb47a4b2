/**
 * `spirit check` findings about remote memory on compute hosts, from their facts (pure): what a
 * remote swap device needs (/dev/fuse, loop devices), what silently bypasses it (zswap, swap
 * devices the kernel prefers), and whether the host can reach an RDMA memory server.
 * @module
 */
import type { HostFacts } from "../../agent/protocol.ts";
import type { Host, Playbook } from "../playbook/types.ts";

/** Problems (the run would fail) and warnings (it would run, but not as intended). */
export interface Findings {
  problems: string[];
  warnings: string[];
}

/** A compute host's remote swap device as the playbook asks for it. */
export interface RemoteSwapRequest {
  readonly sizeBytes?: number;
  readonly priority?: number;
}

/** The playbook's `remoteSwap` of a compute host (size and priority resolved), or undefined. */
export function remoteSwapOf(host: Host): RemoteSwapRequest | undefined {
  return host.role === "compute" ? host.remoteSwap ?? undefined : undefined;
}

/**
 * The priority the remote swap device will have: the playbook's, or else the kernel's default
 * for a device enabled after the active ones (one below the lowest negative priority, -2 first).
 */
export function remoteSwapPriority(request: RemoteSwapRequest, facts: HostFacts): number {
  if (request.priority !== undefined) return request.priority;
  const defaults = facts.swapDevices.map((s) => s.priority).filter((p) => p < 0);
  return defaults.length === 0 ? -2 : Math.min(...defaults) - 1;
}

/** Findings about a compute host's remote swap device and what would bypass it. */
export function remoteSwapFindings(
  playbook: Playbook,
  host: Host,
  facts: HostFacts,
): Findings {
  const findings: Findings = { problems: [], warnings: [] };
  if (host.role !== "compute") return findings;
  const request = remoteSwapOf(host);
  const support = facts.remoteSwapSupport;
  const swapsUsed = request !== undefined ||
    playbook.apps.some((a) => a.host === host.name && a.kind === "command");
  if (swapsUsed && support.zswapEnabled === true) {
    findings.warnings.push(
      "zswap is enabled (/sys/module/zswap/parameters/enabled): swapped-out pages stay " +
        "compressed in local RAM, bypassing the " +
        (request === undefined ? "swap device" : "remote swap device") +
        " and its bandwidth throttles; disable it with " +
        "`echo N > /sys/module/zswap/parameters/enabled`",
    );
  }
  if (request === undefined) return findings;
  if (!support.devFuse) {
    findings.problems.push("remoteSwap needs /dev/fuse, which is missing (modprobe fuse)");
  }
  if (support.loopControl === "absent") {
    findings.problems.push(
      "remoteSwap needs loop devices: /dev/loop-control is missing (modprobe loop)",
    );
  } else if (support.loopControl === "no-permission") {
    findings.problems.push(
      "remoteSwap needs root: /dev/loop-control cannot be opened for reading and writing",
    );
  }
  const priority = remoteSwapPriority(request, facts);
  const how = request.priority === undefined
    ? `${priority}, the kernel's default for a device enabled last`
    : `${priority}, from remoteSwap.priority`;
  for (const swap of facts.swapDevices) {
    if (swap.priority < priority) continue;
    findings.warnings.push(
      `swap device ${swap.path} (priority ${swap.priority}) ${
        swap.priority === priority ? "shares pages equally with" : "is used before"
      } the remote swap device (priority ${how}): set remoteSwap.priority above ${swap.priority} ` +
        `or swapoff ${swap.path}`,
    );
  }
  return findings;
}

/**
 * Compute hosts that use an RDMA memory server but have no RDMA device: the memory server
 * serves one transport, RDMA for `transport: "rdma"` and for `auto` on a host with a device.
 */
export function rdmaReachProblems(
  playbook: Playbook,
  facts: Readonly<Record<string, HostFacts>>,
): { host: string; problem: string }[] {
  const found: { host: string; problem: string }[] = [];
  for (const host of Object.values(playbook.hosts)) {
    if (host.role !== "compute") continue;
    const memory = playbook.hosts[host.memoryNode];
    const memoryFacts = facts[host.memoryNode];
    const hostFacts = facts[host.name];
    if (memory?.role !== "memory" || memoryFacts === undefined || hostFacts === undefined) continue;
    const { transport } = memory.memserver;
    const servesRdma = transport === "rdma" ||
      (transport === "auto" && memoryFacts.rdmaDevices.length > 0);
    const usesServer = remoteSwapOf(host) !== undefined ||
      playbook.apps.some((a) => a.host === host.name && a.kind === "workload");
    if (!servesRdma || !usesServer || hostFacts.rdmaDevices.length > 0) continue;
    found.push({
      host: host.name,
      problem: `memory node ${memory.name} serves RDMA (transport ${transport}${
        transport === "auto" ? `, it has ${memoryFacts.rdmaDevices.join(", ")}` : ""
      }) but this host has no RDMA device to reach it; set its transport to "tcp"`,
    });
  }
  return found;
}
