/**
 * The agent and the node's remote swap device: `remote-swap-up` before the apps, cgroup apps
 * without a swap device throttled and measured on it, teardown removing it after the apps, and
 * the death of its daemon reported as a warning event.
 */
import assert from "node:assert/strict";
import { AgentCore } from "../agent/core.ts";
import type { AgentEvent, AgentResponse, AppExit } from "../agent/protocol.ts";
import { buildProber, proberArgv } from "../remote_swap/bench/prober.ts";
import type { DeviceStatus } from "../remote_swap/protocol.ts";
import { assertRemoved, REMOTE_SWAP_PREREQS, RemoteSwapFixture } from "./fixtures/remote_swap.ts";
import { systemTest } from "./prereq.ts";

const MiB = 1 << 20;

/** An agent core on a fresh state directory whose remote swap devices live under `fixture`. */
async function withAgentAndSwap(
  fn: (context: {
    core: AgentCore;
    fixture: RemoteSwapFixture;
    request: (body: Record<string, unknown>) => Promise<unknown>;
    events: AgentEvent[];
  }) => Promise<void>,
): Promise<void> {
  const fixture = await RemoteSwapFixture.start();
  const stateDir = await Deno.makeTempDir({ prefix: "spirit-agent-swap-test-" });
  const core = new AgentCore({ stateDir, remoteSwapRoot: fixture.root, sampleIntervalMs: 500 });
  const events: AgentEvent[] = [];
  const unsubscribe = core.subscribe((event) => events.push(event));
  let id = 1;
  const request = async (body: Record<string, unknown>) => {
    const response: AgentResponse = await core.handleLine(JSON.stringify({ id: id++, ...body }));
    if (!response.ok) {
      throw new Error(`${body.op}: ${response.error.code}: ${response.error.message}`);
    }
    return response.result;
  };
  try {
    core.start();
    await fn({ core, fixture, request, events });
  } finally {
    unsubscribe();
    await core.close();
    await fixture.close();
    await Deno.remove(stateDir, { recursive: true });
  }
}

systemTest(
  "agent: remote-swap-up before the apps, cgroup apps throttled and measured on it by default, teardown removes it after them",
  REMOTE_SWAP_PREREQS,
  () =>
    withAgentAndSwap(async ({ core, fixture, request }) => {
      const prober = await buildProber();
      try {
        const status = await request({
          op: "remote-swap-up",
          memserver: fixture.address,
          tokenFile: fixture.tokenFile,
          sizeBytes: 512 * MiB,
          priority: 32767,
        }) as DeviceStatus;
        assert.match(status.device ?? "", /^\/dev\/loop\d+$/);
        assert.equal(status.state, "active");
        const device = core.remoteSwapDevice();
        assert.deepEqual(device, { path: status.device, majorMinor: status.majorMinor });
        const again = await request({
          op: "remote-swap-up",
          memserver: fixture.address,
          tokenFile: fixture.tokenFile,
          sizeBytes: 512 * MiB,
        }) as DeviceStatus;
        assert.equal(again.id, status.id, "the same request again is the same device");
        const capped = await request({
          op: "remote-swap-set-write-cap",
          bytesPerSec: 50e6,
        }) as DeviceStatus;
        assert.equal(capped.writeCapBytesPerSec, 50e6);

        let resolveExit: (exit: AppExit) => void = () => {};
        const exited = new Promise<AppExit>((resolve) => resolveExit = resolve);
        const unsubscribe = core.subscribe((event) => {
          if (event.event === "app-exited" && event.appId === "prober") resolveExit(event.exit);
        });
        const launched = await request({
          op: "launch",
          app: {
            appId: "prober",
            enforcement: "cgroup",
            argv: proberArgv(prober, { sizeMiB: 96, randomPages: 0, seed: 5 }),
            allocation: { cacheBytes: 24 * MiB, bandwidthBytesPerSec: 1e9 },
          },
        }) as { enforceable: { bandwidthRead: { enforced: boolean; via?: string } } };
        assert.equal(launched.enforceable.bandwidthRead.enforced, true);
        assert.match(
          launched.enforceable.bandwidthRead.via ?? "",
          new RegExp(status.majorMinor ?? ""),
        );
        const exit = await exited;
        unsubscribe();
        assert.equal(exit.code, 0, "the prober read back every page");
        const samples = (await request({ op: "samples", appIds: ["prober"] })) as {
          samples: { swapInBytes: number }[];
        };
        const swapIn = Math.max(...samples.samples.map((s) => s.swapInBytes));
        assert.ok(swapIn > 8 * MiB, `swap-in measured on the remote device: ${swapIn} bytes`);

        const teardown = await request({ op: "teardown" }) as { stopped: string[] };
        assert.deepEqual(teardown.stopped, ["prober"]);
        assert.equal(core.remoteSwapDevice(), null);
        await assertRemoved(
          {
            device: status.device ?? "",
            mountpoint: status.mountpoint,
            pid: status.pid,
            enginePid: status.enginePid ?? status.pid,
            id: status.id,
            sizeBytes: status.sizeBytes,
            transport: status.transport,
            majorMinor: status.majorMinor ?? "",
            priority: status.priority,
            memserver: status.memserver,
            engine: status.engine,
          },
          fixture.root,
        );
      } finally {
        await prober.remove();
      }
    }),
);

/** Waits until `events` holds one that `match` accepts (an observable signal, no fixed sleep). */
async function eventMatching(
  events: AgentEvent[],
  match: (event: AgentEvent) => boolean,
  what: string,
): Promise<AgentEvent> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const found = events.find(match);
    if (found !== undefined) return found;
    assert.ok(performance.now() < deadline, `no ${what} event: ${JSON.stringify(events)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const remoteSwapChange = (change: string) => (e: AgentEvent) =>
  e.event === "remote-swap" && e.change === change;

systemTest(
  "agent: the death of the remote swap daemon is a remote-swap event; remote-swap-down still removes the device",
  REMOTE_SWAP_PREREQS,
  () =>
    withAgentAndSwap(async ({ fixture, request, events }) => {
      const status = await request({
        op: "remote-swap-up",
        memserver: fixture.address,
        tokenFile: fixture.tokenFile,
        sizeBytes: 64 * MiB,
        priority: -1, // lowest: other tests' programs swap elsewhere
      }) as DeviceStatus;
      Deno.kill(status.pid, "SIGKILL");
      const event = await eventMatching(events, remoteSwapChange("daemon-exited"), "daemon-exited");
      assert.equal(event.event === "remote-swap" ? event.device : null, status.device);
      assert.match(
        event.event === "remote-swap" ? event.message : "",
        new RegExp(
          `its daemon \\(pid ${status.pid}\\) exited unexpectedly; the data path ` +
            `\\(pid ${status.enginePid}\\) serves on`,
        ),
      );
      const down = await request({ op: "remote-swap-down" }) as { removed: { removed: string[] } };
      assert.ok(down.removed.removed.includes("swapoff"), JSON.stringify(down));
      assert.ok(down.removed.removed.includes("state"));
      const swaps = await Deno.readTextFile("/proc/swaps");
      assert.ok(!swaps.includes(`${status.device} `), "swap off");
      assert.ok(
        !events.some(remoteSwapChange("engine-exited")),
        "the engine was not reported dead",
      );
    }),
);

systemTest(
  "agent: a dead remote swap data path is reported, removed and replaced by a new device the apps follow",
  REMOTE_SWAP_PREREQS,
  () =>
    withAgentAndSwap(async ({ core, fixture, request, events }) => {
      const status = await request({
        op: "remote-swap-up",
        memserver: fixture.address,
        tokenFile: fixture.tokenFile,
        sizeBytes: 64 * MiB,
        priority: -1,
      }) as DeviceStatus;
      const old = { device: status.device, mountpoint: status.mountpoint, id: status.id };
      assert.ok(status.enginePid !== null && status.enginePid !== status.pid);
      await request({
        op: "launch",
        app: {
          appId: "sleeper",
          enforcement: "cgroup",
          argv: ["sleep", "600"],
          allocation: { cacheBytes: 16 * MiB, bandwidthBytesPerSec: 1e6 },
        },
      });
      Deno.kill(status.enginePid, "SIGKILL");
      const dead = await eventMatching(events, remoteSwapChange("engine-exited"), "engine-exited");
      assert.match(dead.event === "remote-swap" ? dead.message : "", /lost/);
      const replaced = await eventMatching(events, remoteSwapChange("replaced"), "replaced");
      assert.match(
        replaced.event === "remote-swap" ? replaced.message : "",
        new RegExp(`dead device ${old.device} removed \\(.*swapoff.*\\) and replaced by /dev/loop`),
      );
      const now = core.remoteSwapDevice();
      assert.ok(now !== null, "the node has a remote swap device again");
      assert.equal(replaced.event === "remote-swap" ? replaced.device : null, now.path);
      const [sample] = await core.sampleAll();
      const read = sample?.enforceable.bandwidthRead;
      assert.match(
        read?.enforced === true ? read.via : JSON.stringify(read),
        new RegExp(now.majorMinor),
        "the app is throttled on the new device",
      );
      // Nothing of the dead device is left.
      assert.ok(!(await Deno.readTextFile("/proc/self/mountinfo")).includes(old.mountpoint));
      const again = await request({ op: "remote-swap-up", ...upRequest(fixture) }) as DeviceStatus;
      assert.notEqual(again.id, old.id);
      assert.equal(again.state, "active");
      const teardown = await request({ op: "teardown" }) as {
        remoteSwap: { device: string; removed: string[] } | null;
      };
      assert.equal(teardown.remoteSwap?.device, now.path, "teardown reports the device it removed");
      assert.deepEqual((teardown as unknown as { stopped: string[] }).stopped, ["sleeper"]);
      assert.ok(teardown.remoteSwap?.removed.includes("swapoff"), JSON.stringify(teardown));
      assert.equal(core.remoteSwapDevice(), null);
    }),
);

function upRequest(fixture: RemoteSwapFixture) {
  return {
    memserver: fixture.address,
    tokenFile: fixture.tokenFile,
    sizeBytes: 64 * MiB,
    priority: -1,
  };
}
