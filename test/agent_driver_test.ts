/**
 * System tests of app drivers (root, cgroup v1 memory and blkio): a client program started
 * beside a cgroup app, outside its cgroup, feeding its throughput, stopped with it.
 */
import assert from "node:assert/strict";
import type { AppStatus, SamplesResult } from "../agent/protocol.ts";
import { driverCgroupName } from "../agent/apps/driver.ts";
import { pathExists, systemTest } from "./prereq.ts";
import {
  AGENT_SYSTEM_REQUIRES,
  type AgentHarness,
  waitFor,
  withAgent,
} from "./fixtures/agent_harness.ts";

const REQUIRES = AGENT_SYSTEM_REQUIRES;
const MEMORY_ROOT = "/sys/fs/cgroup/memory";

/** A driver that counts ops on stdout and keeps a child process (to show none is left). */
const COUNTING_DRIVER = [
  "sh",
  "-c",
  'sleep 600 & i=0; while :; do i=$((i+1)); echo "ops $i"; sleep 0.02; done',
];

function serverSpec(appId: string, argv: string[], driverArgv: string[]) {
  return {
    appId,
    enforcement: "cgroup" as const,
    argv,
    allocation: { cacheBytes: 64 * 2 ** 20, bandwidthBytesPerSec: 1e6 },
    driver: { kind: "argv" as const, argv: driverArgv },
    throughput: { kind: "log" as const, pattern: "^ops (\\d+)$", from: "driver" as const },
  };
}

async function pidsOf(cgroupDir: string): Promise<number[]> {
  return (await Deno.readTextFile(`${cgroupDir}/cgroup.procs`)).split("\n").filter((l) => l)
    .map(Number);
}

/** The state letter of a process (R, S, Z, ...), or null when it is gone. */
async function processState(pid: number): Promise<string | null> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

async function driverOf(h: AgentHarness, appId: string) {
  const { apps } = (await h.request({ op: "list" })) as { apps: AppStatus[] };
  return apps.find((a) => a.appId === appId)?.driver;
}

systemTest(
  "a driver runs outside its app's cgroup and is the app's throughput",
  REQUIRES,
  async () => {
    await withAgent(async (h) => {
      const { status } = await h.launch(serverSpec("served", ["sleep", "600"], COUNTING_DRIVER));
      const driver = status.driver;
      assert.ok(driver !== undefined && status.pid !== null);
      const appCgroup = status.cgroups.memory;
      assert.ok(appCgroup !== undefined);
      const appPid = status.pid;
      await waitFor(
        "the app to join its cgroup",
        async () => (await pidsOf(appCgroup)).includes(appPid) ? true : undefined,
      );
      assert.deepEqual(await pidsOf(appCgroup), [appPid]);
      const driverCgroup = `${MEMORY_ROOT}/spirit/${driverCgroupName("served")}`;
      await waitFor(
        "the driver to join its own cgroup",
        async () => (await pidsOf(driverCgroup)).includes(driver.pid) ? true : undefined,
      );
      assert.ok(!(await pidsOf(appCgroup)).includes(driver.pid));
      // Unlimited: the driver's memory is not the app's cache.
      assert.ok(Number(await Deno.readTextFile(`${driverCgroup}/memory.limit_in_bytes`)) > 2 ** 60);
      const ops = await waitFor("driver ops in the app's samples", async () => {
        await h.core.sampleAll();
        const { samples } =
          (await h.request({ op: "samples", appIds: ["served"] })) as SamplesResult;
        const total = samples.at(-1)?.opsTotal ?? 0;
        return total > 5 ? total : undefined;
      });
      assert.ok(ops > 5);
    });
  },
);

systemTest("stopping an app stops its driver and leaves no driver process", REQUIRES, async () => {
  await withAgent(async (h) => {
    const { status } = await h.launch(serverSpec("stopped", ["sleep", "600"], COUNTING_DRIVER));
    const driverCgroup = `${MEMORY_ROOT}/spirit/${driverCgroupName("stopped")}`;
    const pids = await waitFor("the driver and its child", async () => {
      const pids = await pidsOf(driverCgroup);
      return pids.length >= 2 ? pids : undefined;
    });
    await h.request({ op: "stop", appId: "stopped", graceMs: 500 });
    for (const pid of [...pids, status.pid ?? -1]) {
      const state = await processState(pid);
      assert.ok(state === null || state === "Z", `pid ${pid} survived the stop (state ${state})`);
    }
    assert.equal(pathExists(driverCgroup).available(), false, `${driverCgroup} left behind`);
  });
});

systemTest("an app that exits takes its driver with it", REQUIRES, async () => {
  await withAgent(async (h) => {
    const { exit } = await h.launch(serverSpec("brief", ["sleep", "0.5"], COUNTING_DRIVER));
    await exit;
    const driverExit = await waitFor("the driver to be stopped", async () => {
      return (await driverOf(h, "brief"))?.exit ?? undefined;
    });
    assert.equal(driverExit.signal, "SIGTERM");
    const driverCgroup = `${MEMORY_ROOT}/spirit/${driverCgroupName("brief")}`;
    await waitFor(
      "the driver's cgroup to go",
      () => pathExists(driverCgroup).available() ? undefined : true,
    );
  });
});

systemTest("a driver that exits by itself is reported as a warning", REQUIRES, async () => {
  await withAgent(async (h) => {
    const warnings: string[] = [];
    h.core.subscribe((event) => {
      if (event.event === "warning" && event.appId === "lonely") warnings.push(event.message);
    });
    await h.launch(serverSpec("lonely", ["sleep", "600"], ["sh", "-c", "exit 3"]));
    const message = await waitFor("the warning", () => warnings[0]);
    assert.match(message, /driver of lonely exited by itself \(code 3\)/);
    assert.match(message, /lonely\.driver\.log/);
  });
});
