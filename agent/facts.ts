/**
 * Host facts: what the controller needs to know about a compute node before planning.
 * @module
 */
import {
  hardwareCountersAvailable,
  openSoftwareCounter,
  SoftwareEvent,
} from "../ffi/perf_event.ts";
import { pageSize } from "../ffi/libc.ts";
import { type CgroupLayout, detectCgroups } from "./cgroup/mounts.ts";
import { exists } from "./cgroup/files.ts";
import { gatherRemoteSwapSupport } from "./host/remote_swap_support.ts";
import { readSwapDevices } from "./host/swaps.ts";
import { AGENT_PROTOCOL_VERSION, type EnforceableLimits, type HostFacts } from "./protocol.ts";
import { parseFlatKeyed } from "./cgroup/stats.ts";

/** The agent's version (the project version). */
export const AGENT_VERSION = "0.1.0";

/** Gathers the facts of this host (reads /proc and /sys, opens and closes perf events). */
export async function gatherFacts(layout?: CgroupLayout): Promise<HostFacts> {
  const cgroups = layout ?? await detectCgroups();
  const v1 = cgroups.mounts.filter((m) => m.version === 1);
  const v2 = cgroups.mounts.find((m) => m.version === 2);
  const meminfo = parseFlatKeyed((await Deno.readTextFile("/proc/meminfo")).replaceAll(":", " "));
  const swapDevices = await readSwapDevices();
  const memsw = cgroups.memory?.version === 1 &&
    await exists(`${cgroups.memory.mountPoint}/memory.memsw.limit_in_bytes`);
  return {
    protocolVersion: AGENT_PROTOCOL_VERSION,
    agentVersion: AGENT_VERSION,
    hostname: Deno.hostname(),
    kernel: {
      release: (await Deno.readTextFile("/proc/sys/kernel/osrelease")).trim(),
      version: (await Deno.readTextFile("/proc/sys/kernel/version")).trim(),
    },
    arch: Deno.build.arch,
    cpus: navigator.hardwareConcurrency,
    memoryBytes: (meminfo.get("MemTotal") ?? 0) * 1024,
    pageSizeBytes: pageSize(),
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
      memswAccounting: memsw,
    },
    psi: await exists("/proc/pressure/memory"),
    swapDevices,
    rdmaDevices: await listDir("/sys/class/infiniband"),
    hardwarePerfCounters: hardwareCountersAvailable(),
    softwarePerfEvents: softwareEventsAvailable(),
    cgroupEnforcement: cgroupEnforcement(cgroups, swapDevices.length > 0),
    remoteSwapSupport: await gatherRemoteSwapSupport(),
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

function softwareEventsAvailable(): boolean {
  try {
    openSoftwareCounter(SoftwareEvent.TASK_CLOCK, 0).close();
    return true;
  } catch (_error) {
    return false;
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    const names: string[] = [];
    for await (const entry of Deno.readDir(path)) names.push(entry.name);
    return names.sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}
