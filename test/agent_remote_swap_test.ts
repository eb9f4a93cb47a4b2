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

systemTest(
  "agent: the death of the remote swap daemon is a warning event; remote-swap-down still removes the device",
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
      const deadline = performance.now() + 10_000;
      let warning: AgentEvent | undefined;
      while (warning === undefined) {
        warning = events.find((e) =>
          e.event === "warning" && e.source === "remote-swap" &&
          /exited unexpectedly/.test(e.message)
        );
        assert.ok(performance.now() < deadline, "no warning about the dead daemon");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.match(
        warning.event === "warning" ? warning.message : "",
        new RegExp(
          `remote swap ${status.device}: its daemon \\(pid ${status.pid}\\) exited unexpectedly`,
        ),
      );
      const down = await request({ op: "remote-swap-down" }) as { removed: { removed: string[] } };
      assert.ok(down.removed.removed.includes("swapoff"), JSON.stringify(down));
      assert.ok(down.removed.removed.includes("state"));
      const swaps = await Deno.readTextFile("/proc/swaps");
      assert.ok(!swaps.includes(`${status.device} `), "swap off");
    }),
);
