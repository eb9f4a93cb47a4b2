/**
 * System tests of the default swap devices (root, cgroup v1 blkio, loop-device swaps): an app
 * that names no swap device is throttled and measured on the node's default, which follows
 * the node's swap devices as they change.
 */
import assert from "node:assert/strict";
import { AgentCore } from "../agent/core.ts";
import type { AgentResponse, AppStatus } from "../agent/protocol.ts";
import { systemTest } from "./prereq.ts";
import { AGENT_SYSTEM_REQUIRES } from "./fixtures/agent_harness.ts";
import { LoopSwap } from "./fixtures/loop_swap.ts";

const REQUIRES = AGENT_SYSTEM_REQUIRES;
const RATE = 3_000_000;

async function withDefaultAgent(
  fn: (core: AgentCore, remote: { device: string | null }) => Promise<void>,
): Promise<void> {
  const stateDir = await Deno.makeTempDir({ prefix: "spirit-default-swap-test-" });
  const remote: { device: string | null } = { device: null };
  const core = new AgentCore({ stateDir, remoteSwapDevice: () => remote.device });
  try {
    await fn(core, remote);
  } finally {
    await core.close();
    await Deno.remove(stateDir, { recursive: true });
  }
}

async function launchSleeper(core: AgentCore, appId: string): Promise<AppStatus> {
  const response: AgentResponse = await core.handle({
    id: 1,
    op: "launch",
    app: {
      appId,
      enforcement: "cgroup",
      argv: ["sleep", "600"],
      allocation: { cacheBytes: 32 * 2 ** 20, bandwidthBytesPerSec: RATE },
    },
  });
  if (!response.ok) throw new Error(response.error.message);
  return response.result as AppStatus;
}

async function readThrottles(status: AppStatus): Promise<string> {
  const blkio = status.cgroups.blkio;
  assert.ok(blkio !== undefined);
  return await Deno.readTextFile(`${blkio}/blkio.throttle.read_bps_device`);
}

systemTest(
  "an app without a swap device is throttled on every active one, also those added later",
  REQUIRES,
  async () => {
    await using first = await LoopSwap.create(64 * 2 ** 20);
    await withDefaultAgent(async (core) => {
      const status = await launchSleeper(core, "default-swap");
      assert.equal(status.enforceable.bandwidthRead.enforced, true);
      assert.match(await readThrottles(status), new RegExp(`^${first.majorMinor} ${RATE}$`, "m"));
      await using second = await LoopSwap.create(64 * 2 ** 20);
      await core.followSwapDevices();
      assert.match(await readThrottles(status), new RegExp(`^${second.majorMinor} ${RATE}$`, "m"));
      const [sample] = await core.sampleAll();
      assert.ok(sample?.enforceable.bandwidthRead.enforced === true);
      assert.match(sample.enforceable.bandwidthRead.via, new RegExp(second.majorMinor));
      await second.remove();
      await core.followSwapDevices();
      assert.doesNotMatch(await readThrottles(status), new RegExp(`^${second.majorMinor} `, "m"));
      assert.match(await readThrottles(status), new RegExp(`^${first.majorMinor} ${RATE}$`, "m"));
    });
  },
);

systemTest(
  "an app without a swap device moves to the node's remote swap device when it comes up",
  REQUIRES,
  async () => {
    await using local = await LoopSwap.create(64 * 2 ** 20);
    await using remoteSwap = await LoopSwap.create(64 * 2 ** 20);
    await withDefaultAgent(async (core, remote) => {
      const status = await launchSleeper(core, "remote-swap");
      assert.match(await readThrottles(status), new RegExp(`^${local.majorMinor} ${RATE}$`, "m"));
      remote.device = remoteSwap.device;
      await core.followSwapDevices();
      const throttles = await readThrottles(status);
      assert.equal(throttles.trim(), `${remoteSwap.majorMinor} ${RATE}`);
      const [sample] = await core.sampleAll();
      assert.ok(sample?.enforceable.bandwidthRead.enforced === true);
      assert.match(
        sample.enforceable.bandwidthRead.via,
        new RegExp(`on ${remoteSwap.majorMinor}$`),
      );
    });
  },
);
