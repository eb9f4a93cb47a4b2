/**
 * A host's facts from what was read on it (pure): the agent gathers the raw facts itself
 * (agent/facts.ts), `spirit check` from a shell's snapshot (controller/run/facts_snapshot.ts);
 * both become the same {@linkcode HostFacts} here.
 * @module
 */
import type { CgroupLayout } from "./cgroup/mounts.ts";
import { AGENT_PROTOCOL_VERSION, type EnforceableLimits, type HostFacts } from "./protocol.ts";

/** The agent's version (the project version). */
export const AGENT_VERSION = "0.1.0";

/**
 * What a host's facts are made of, as read on the host: by the agent itself
 * (agent/facts.ts) or from a shell's snapshot (`spirit check`, controller/run/
 * facts_snapshot.ts). {@linkcode hostFactsOf} turns either into the same {@linkcode HostFacts}.
 */
export type RawHostFacts =
  & Pick<
    HostFacts,
    | "hostname"
    | "arch"
    | "cpus"
    | "pageSizeBytes"
    | "psi"
    | "swapDevices"
    | "rdmaDevices"
    | "hardwarePerfCounters"
    | "softwarePerfEvents"
    | "remoteSwapSupport"
  >
  & {
    kernelRelease: string;
    kernelVersion: string;
    memTotalKiB: number;
    cgroups: CgroupLayout;
    /** The v1 memory hierarchy has `memory.memsw.limit_in_bytes`. */
    memswAccounting: boolean;
  };

/** The facts of a host from what was read there (pure). */
export function hostFactsOf(raw: RawHostFacts): HostFacts {
  const cgroups = raw.cgroups;
  const v1 = cgroups.mounts.filter((m) => m.version === 1);
  const v2 = cgroups.mounts.find((m) => m.version === 2);
  return {
    protocolVersion: AGENT_PROTOCOL_VERSION,
    agentVersion: AGENT_VERSION,
    hostname: raw.hostname,
    kernel: { release: raw.kernelRelease, version: raw.kernelVersion },
    arch: raw.arch,
    cpus: raw.cpus,
    memoryBytes: raw.memTotalKiB * 1024,
    pageSizeBytes: raw.pageSizeBytes,
    cgroup: {
      layout: v1.length > 0 && v2 !== undefined ? "hybrid" : v2 !== undefined ? 2 : 1,
      memory: cgroups.memory === null
        ? null
        : { version: cgroups.memory.version, mount: cgroups.memory.mountPoint },
      io: cgroups.io === null
        ? null
        : { version: cgroups.io.version, mount: cgroups.io.mountPoint },
      v1Controllers: [...new Set(v1.flatMap((m) => m.controllers))].sort(),
      v2Controllers: v2?.controllers ?? [],
      memswAccounting: cgroups.memory?.version === 1 && raw.memswAccounting,
    },
    psi: raw.psi,
    swapDevices: raw.swapDevices,
    rdmaDevices: [...raw.rdmaDevices].sort(),
    hardwarePerfCounters: raw.hardwarePerfCounters,
    softwarePerfEvents: raw.softwarePerfEvents,
    cgroupEnforcement: cgroupEnforcement(cgroups, raw.swapDevices.length > 0),
    remoteSwapSupport: raw.remoteSwapSupport,
  };
}

/** What a cgroup app's allocation can enforce with this layout (pure). */
export function cgroupEnforcement(layout: CgroupLayout, haveSwap: boolean): EnforceableLimits {
  if (layout.memory === null) {
    const reason = "no cgroup hierarchy with the memory controller";
    return {
      cache: { enforced: false, reason },
      bandwidthRead: { enforced: false, reason },
      bandwidthWrite: { enforced: false, reason },
    };
  }
  const v = layout.memory.version;
  const cache = {
    enforced: true as const,
    via: v === 2 ? "cgroup v2 memory.max and memory.high" : "cgroup v1 memory.limit_in_bytes",
  };
  const noIo = v === 2
    ? "the cgroup v2 io controller is not available"
    : "the cgroup v1 blkio controller is not mounted";
  if (layout.io === null) {
    return {
      cache,
      bandwidthRead: { enforced: false, reason: noIo },
      bandwidthWrite: { enforced: false, reason: noIo },
    };
  }
  if (!haveSwap) {
    const reason = "no active swap device to throttle";
    return {
      cache,
      bandwidthRead: { enforced: false, reason },
      bandwidthWrite: { enforced: false, reason },
    };
  }
  if (v === 2) {
    return {
      cache,
      bandwidthRead: { enforced: true, via: "cgroup v2 io.max rbps on the swap device" },
      bandwidthWrite: { enforced: true, via: "cgroup v2 io.max wbps on the swap device" },
    };
  }
  return {
    cache,
    bandwidthRead: {
      enforced: true,
      via: "cgroup v1 blkio.throttle.read_bps_device on the swap device",
    },
    bandwidthWrite: {
      enforced: false,
      reason: "cgroup v1 does not charge swap-out writes to the app's blkio cgroup",
    },
  };
}
