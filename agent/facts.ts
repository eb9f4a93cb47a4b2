/**
 * Host facts: what the controller needs to know about a compute node before planning, gathered
 * by the agent on its host (FFI probes for perf events and the page size).
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
import { hostFactsOf } from "./host_facts.ts";
import type { HostFacts } from "./protocol.ts";
import { parseFlatKeyed } from "./cgroup/stats.ts";

/** Gathers the facts of this host (reads /proc and /sys, opens and closes perf events). */
export async function gatherFacts(layout?: CgroupLayout): Promise<HostFacts> {
  const cgroups = layout ?? await detectCgroups();
  const meminfo = parseFlatKeyed((await Deno.readTextFile("/proc/meminfo")).replaceAll(":", " "));
  return hostFactsOf({
    hostname: Deno.hostname(),
    kernelRelease: (await Deno.readTextFile("/proc/sys/kernel/osrelease")).trim(),
    kernelVersion: (await Deno.readTextFile("/proc/sys/kernel/version")).trim(),
    arch: Deno.build.arch,
    cpus: navigator.hardwareConcurrency,
    memTotalKiB: meminfo.get("MemTotal") ?? 0,
    pageSizeBytes: pageSize(),
    cgroups,
    memswAccounting: cgroups.memory?.version === 1 &&
      await exists(`${cgroups.memory.mountPoint}/memory.memsw.limit_in_bytes`),
    psi: await exists("/proc/pressure/memory"),
    swapDevices: await readSwapDevices(),
    rdmaDevices: await listDir("/sys/class/infiniband"),
    hardwarePerfCounters: hardwareCountersAvailable(),
    softwarePerfEvents: softwareEventsAvailable(),
    remoteSwapSupport: await gatherRemoteSwapSupport(),
  });
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
