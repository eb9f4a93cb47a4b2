/**
 * System tests of cgroup enforcement through the agent core (root, cgroup v1 memory and blkio,
 * a loop-device swap, gcc for the memory toucher).
 */
import assert from "node:assert/strict";
import type { AppSample, SamplesResult, SetAllocationResult } from "../agent/protocol.ts";
import { pathExists, systemTest } from "./prereq.ts";
import {
  AGENT_SYSTEM_REQUIRES,
  type AgentHarness,
  blkioReadBytes,
  memoryLimitBytes,
  memoryUsageBytes,
  processExists,
  waitFor,
  withAgent,
} from "./fixtures/agent_harness.ts";

const MiB = 2 ** 20;
const REQUIRES = AGENT_SYSTEM_REQUIRES;

function toucherSpec(h: AgentHarness, appId: string, options: {
  cacheBytes: number;
  bandwidthBytesPerSec: number;
  touchMiB: number;
  passes: number;
  reportPages?: number;
  bytesPerPage?: number;
}) {
  return {
    appId,
    enforcement: "cgroup" as const,
    argv: [
      h.toucher.path,
      String(options.touchMiB),
      String(options.passes),
      String(options.reportPages ?? 256),
      String(options.bytesPerPage ?? 1),
    ],
    allocation: {
      cacheBytes: options.cacheBytes,
      bandwidthBytesPerSec: options.bandwidthBytesPerSec,
    },
    throughput: { kind: "log" as const, pattern: "^touched (\\d+)$" },
  };
}

async function samplesOf(h: AgentHarness, appId: string): Promise<AppSample[]> {
  return ((await h.request({ op: "samples", appIds: [appId] })) as SamplesResult).samples;
}

systemTest(
  "cgroup app touching 4x its cache stays within the limit, swaps and completes",
  REQUIRES,
  async () => {
    await withAgent(async (h) => {
      h.core.start();
      const cacheBytes = 64 * MiB;
      const { exit } = await h.launch(
        toucherSpec(h, "four-x", {
          cacheBytes,
          bandwidthBytesPerSec: 1e9,
          touchMiB: 256,
          passes: 2,
        }),
      );
      assert.equal((await exit).code, 0);
      await h.core.sampleAll();
      const samples = await samplesOf(h, "four-x");
      const last = samples.at(-1);
      assert.ok(last !== undefined, "no samples taken");
      assert.ok(
        last.peakResidentBytes !== null && last.peakResidentBytes <= cacheBytes * 1.05,
        `peak ${last.peakResidentBytes}`,
      );
      for (const sample of samples) {
        assert.ok(sample.residentBytes <= cacheBytes * 1.05, `resident ${sample.residentBytes}`);
      }
      assert.ok(last.swapInBytes > 128 * MiB, `swap-in ${last.swapInBytes}`);
      assert.ok(last.swapOutBytes >= 192 * MiB, `swap-out ${last.swapOutBytes}`);
      assert.ok(last.majorFaults > 0);
      assert.equal(last.opsTotal, 2 * 256 * 256);
      assert.equal(last.enforceable.cache.enforced, true);
      assert.equal(last.enforceable.bandwidthWrite.enforced, false, "v1 cannot throttle swap-out");
      assert.equal(last.swapOutEstimated, true);
      assert.equal(last.mrc.available, false);
      // Working-set counters exactly where this kernel's memory.stat has them.
      const rootStat = await Deno.readTextFile("/sys/fs/cgroup/memory/memory.stat");
      if (/^workingset_refault_anon /m.test(rootStat)) {
        assert.ok(
          (last.workingsetRefaultTotal ?? 0) > 0,
          `refaults ${last.workingsetRefaultTotal}`,
        );
      } else assert.equal(last.workingsetRefaultTotal, undefined);
      if (!/^workingset_activate/m.test(rootStat)) {
        assert.equal(last.workingsetActivateTotal, undefined);
      } else assert.equal(typeof last.workingsetActivateTotal, "number");
    }, { sampleIntervalMs: 250 });
  },
);

async function timedRun(h: AgentHarness, options: { appId: string; bandwidthBytesPerSec: number }) {
  const { appId, bandwidthBytesPerSec } = options;
  const started = performance.now();
  const { exit } = await h.launch(
    toucherSpec(h, appId, { cacheBytes: 32 * MiB, bandwidthBytesPerSec, touchMiB: 96, passes: 2 }),
  );
  assert.equal((await exit).code, 0);
  const durationSec = (performance.now() - started) / 1000;
  await h.core.sampleAll();
  const samples = await samplesOf(h, appId);
  return { durationSec, samples, swapInBytes: samples.at(-1)?.swapInBytes ?? 0 };
}

systemTest(
  "cgroup bandwidth limit bounds the swap-in rate and stretches the run",
  REQUIRES,
  async () => {
    await withAgent(async (h) => {
      h.core.start();
      const limit = 16e6;
      const slow = await timedRun(h, { appId: "slow", bandwidthBytesPerSec: limit });
      const fast = await timedRun(h, { appId: "fast", bandwidthBytesPerSec: 2e9 });
      assert.ok(slow.swapInBytes > 48 * MiB, `swap-in ${slow.swapInBytes}`);
      const averageRate = slow.swapInBytes / slow.durationSec;
      assert.ok(
        averageRate <= limit * 1.1,
        `average swap-in ${averageRate} B/s over limit ${limit}`,
      );
      // Every full sampling interval (the last sample, taken right after exit, covers a fraction).
      slow.samples.forEach((sample, i) => {
        const before = slow.samples[i - 1];
        if (before === undefined || sample.timeMs - before.timeMs < 900) return;
        const rate = (sample.swapInBytes - before.swapInBytes) /
          ((sample.timeMs - before.timeMs) / 1000);
        assert.ok(rate <= limit * 1.1, `swap-in ${rate} B/s at seq ${sample.seq}`);
      });
      console.log(
        `swap-in ${(slow.swapInBytes / MiB).toFixed(1)} MiB at ${
          (averageRate / 1e6).toFixed(2)
        } MB/s ` +
          `(limit ${limit / 1e6} MB/s) in ${slow.durationSec.toFixed(2)} s; ` +
          `unthrottled ${(fast.swapInBytes / MiB).toFixed(1)} MiB in ${
            fast.durationSec.toFixed(2)
          } s`,
      );
      // Proportionally longer: the run takes at least the time the limit allows for its swap-in.
      assert.ok(
        slow.durationSec >= 0.9 * slow.swapInBytes / limit,
        `slow run ${slow.durationSec} s`,
      );
      assert.ok(
        slow.durationSec > 3 * fast.durationSec,
        `slow ${slow.durationSec} s vs fast ${fast.durationSec} s`,
      );
    }, { sampleIntervalMs: 1000 });
  },
);

// How fast a raise shows in the app's rate is printed, not asserted (a wall-clock bound fails on
// a loaded machine): the tests check that the kernel holds the new limit when set-allocation
// returns and that the app's rate or residency then rises past the old limit.
systemTest(
  "cgroup bandwidth raise mid-run is in force when set-allocation returns",
  REQUIRES,
  async () => {
    await withAgent(async (h) => {
      const oldLimit = 4e6;
      const { status } = await h.launch(
        toucherSpec(h, "raise-bw", {
          cacheBytes: 32 * MiB,
          bandwidthBytesPerSec: oldLimit,
          touchMiB: 128,
          passes: 1e9,
        }),
      );
      const blkio = status.cgroups.blkio;
      assert.ok(blkio !== undefined);
      await waitFor(
        "swap-in to start",
        async () => (await blkioReadBytes(blkio, h.swap.majorMinor)) > 0 ? true : undefined,
      );
      await h.request({
        op: "set-allocation",
        appId: "raise-bw",
        allocation: { cacheBytes: 32 * MiB, bandwidthBytesPerSec: 400e6 },
      });
      const raisedAt = performance.now();
      const throttle = await Deno.readTextFile(`${blkio}/blkio.throttle.read_bps_device`);
      assert.match(throttle, new RegExp(`^${h.swap.majorMinor} 400000000$`, "m"), throttle);
      let previous = { at: raisedAt, bytes: await blkioReadBytes(blkio, h.swap.majorMinor) };
      const tookMs = await waitFor("a swap-in rate above 3x the old limit", async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const now = {
          at: performance.now(),
          bytes: await blkioReadBytes(blkio, h.swap.majorMinor),
        };
        const rate = (now.bytes - previous.bytes) / ((now.at - previous.at) / 1000);
        previous = now;
        return rate > 3 * oldLimit ? now.at - raisedAt : undefined;
      }, { timeoutMs: 5000, intervalMs: 0 });
      console.log(`bandwidth raise visible after ${tookMs.toFixed(0)} ms`);
    });
  },
);

systemTest(
  "cgroup cache raise mid-run is in force when set-allocation returns",
  REQUIRES,
  async () => {
    await withAgent(async (h) => {
      const oldCache = 64 * MiB;
      const { status } = await h.launch(
        toucherSpec(h, "raise-cache", {
          cacheBytes: oldCache,
          bandwidthBytesPerSec: 2e9,
          touchMiB: 256,
          passes: 1e9,
        }),
      );
      const memory = status.cgroups.memory;
      assert.ok(memory !== undefined);
      await waitFor("the app to swap", async () => {
        const samples = await h.core.sampleAll();
        return samples.some((s) => s.swapBytes > 64 * MiB) ? true : undefined;
      });
      await h.request({
        op: "set-allocation",
        appId: "raise-cache",
        allocation: { cacheBytes: 512 * MiB, bandwidthBytesPerSec: 2e9 },
      });
      const raisedAt = performance.now();
      assert.ok(
        (await memoryLimitBytes(memory)) >= 512 * MiB,
        `memory limit ${await memoryLimitBytes(memory)} after the raise`,
      );
      const tookMs = await waitFor(
        "resident memory above the old limit",
        async () =>
          (await memoryUsageBytes(memory)) > oldCache * 1.1
            ? performance.now() - raisedAt
            : undefined,
        { timeoutMs: 5000 },
      );
      console.log(`cache raise visible after ${tookMs.toFixed(0)} ms`);
    });
  },
);

systemTest("cgroup cache shrink mid-run steps down without an OOM kill", REQUIRES, async () => {
  await withAgent(async (h) => {
    const { status } = await h.launch(
      toucherSpec(h, "shrink", {
        cacheBytes: 512 * MiB,
        bandwidthBytesPerSec: 2e9,
        touchMiB: 192,
        passes: 1e9,
        reportPages: 65536,
        bytesPerPage: 4096,
      }),
    );
    const memory = status.cgroups.memory;
    assert.ok(memory !== undefined);
    await waitFor(
      "the app to be resident",
      async () => (await memoryUsageBytes(memory)) > 150 * MiB ? true : undefined,
    );
    const target = 32 * MiB;
    const result = (await h.request({
      op: "set-allocation",
      appId: "shrink",
      allocation: { cacheBytes: target, bandwidthBytesPerSec: 2e9 },
    })) as SetAllocationResult;
    assert.equal(result.applied, "stepping");
    const warnings: string[] = [];
    h.core.subscribe((event) => {
      if (event.event === "warning") warnings.push(event.message);
    });
    await waitFor(
      () => `the limit to reach the target (warnings: ${warnings.join("; ")})`,
      async () => {
        const limit = await memoryLimitBytes(memory);
        return limit === target && (await memoryUsageBytes(memory)) <= target * 1.05
          ? true
          : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const oom = await Deno.readTextFile(`${memory}/memory.oom_control`);
    assert.match(oom, /oom_kill 0/);
    assert.ok(status.pid !== null && await processExists(status.pid), "the app was killed");
  });
});

systemTest("agent teardown leaves no cgroup, process or swap device behind", REQUIRES, async () => {
  let swapDevice = "";
  let pids: number[] = [];
  let dirs: string[] = [];
  const before = new Map(
    ["/sys/fs/cgroup/memory/spirit", "/sys/fs/cgroup/blkio/spirit"].map((
      p,
    ) => [p, childCgroups(p)]),
  );
  await withAgent(async (h) => {
    swapDevice = h.swap.device;
    for (const appId of ["a", "b"]) {
      const { status } = await h.launch(
        toucherSpec(h, appId, {
          cacheBytes: 16 * MiB,
          bandwidthBytesPerSec: 1e6,
          touchMiB: 64,
          passes: 1e9,
        }),
      );
      assert.ok(status.pid !== null);
      pids.push(status.pid);
      dirs.push(...Object.values(status.cgroups));
    }
    assert.deepEqual(((await h.request({ op: "teardown" })) as { stopped: string[] }).stopped, [
      "a",
      "b",
    ]);
    assert.deepEqual(((await h.request({ op: "teardown" })) as { stopped: string[] }).stopped, []);
    for (const pid of pids) assert.equal(await processExists(pid), false, `pid ${pid} still runs`);
    for (const dir of dirs) assert.equal(pathExists(dir).available(), false, `${dir} still exists`);
    // The parent goes once empty; cgroups another agent on this host made stay.
    for (const parent of ["/sys/fs/cgroup/memory/spirit", "/sys/fs/cgroup/blkio/spirit"]) {
      assert.deepEqual(childCgroups(parent), before.get(parent), `${parent} left behind`);
    }
  });
  const swaps = await Deno.readTextFile("/proc/swaps");
  assert.ok(!swaps.includes(swapDevice), `${swapDevice} still in /proc/swaps`);
  const loops = await new Deno.Command("losetup", {
    args: ["--list", "--noheadings", "--output", "NAME"],
  }).output();
  assert.ok(
    !new TextDecoder().decode(loops.stdout).split("\n").includes(swapDevice),
    `${swapDevice} still attached`,
  );
  pids = [];
  dirs = [];
});

systemTest(
  "adopted cgroup gets limits while managed and keeps its processes when released",
  REQUIRES,
  async () => {
    const name = `spirit-adopt-test-${Deno.pid}`;
    const dirs = [`/sys/fs/cgroup/memory/${name}`, `/sys/fs/cgroup/blkio/${name}`];
    for (const dir of dirs) await Deno.mkdir(dir);
    const container = new Deno.Command("sh", {
      args: [
        "-c",
        'for f in "$@"; do echo $$ > "$f"; done; exec sleep 300',
        "sh",
        ...dirs.map((d) => `${d}/cgroup.procs`),
      ],
    }).spawn();
    try {
      await withAgent(async (h) => {
        const [memory, blkio] = dirs as [string, string];
        await waitFor("the container process to join", async () => {
          const procs = await Deno.readTextFile(`${memory}/cgroup.procs`);
          return procs.trim() === String(container.pid) ? true : undefined;
        });
        await h.launch({
          appId: "container",
          enforcement: "cgroup-existing",
          path: `/${name}`,
          allocation: { cacheBytes: 32 * MiB, bandwidthBytesPerSec: 1e6 },
        });
        assert.equal(Number(await Deno.readTextFile(`${memory}/memory.limit_in_bytes`)), 32 * MiB);
        assert.match(
          await Deno.readTextFile(`${blkio}/blkio.throttle.read_bps_device`),
          new RegExp(`^${h.swap.majorMinor} 1000000$`, "m"),
        );
        const [sample] = await h.core.sampleAll();
        assert.equal(sample?.enforcement, "cgroup-existing");
        assert.ok((sample?.residentBytes ?? 0) > 0);
        await h.request({ op: "stop", appId: "container" });
        assert.ok(Number(await Deno.readTextFile(`${memory}/memory.limit_in_bytes`)) > 2 ** 60);
        assert.equal(
          (await Deno.readTextFile(`${blkio}/blkio.throttle.read_bps_device`)).trim(),
          "",
        );
        assert.ok(await processExists(container.pid), "releasing the cgroup killed its process");
      });
    } finally {
      container.kill("SIGKILL");
      await container.status;
      for (const dir of dirs) await Deno.remove(dir);
    }
  },
);

/** Names of the cgroups under `parent`, sorted; null when `parent` does not exist. */
function childCgroups(parent: string): string[] | null {
  try {
    return [...Deno.readDirSync(parent)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
