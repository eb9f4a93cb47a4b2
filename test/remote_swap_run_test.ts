/**
 * `spirit run` with `remoteSwap` on a compute host: the node's remote swap device comes up before
 * the app, an unmodified program swaps to it (throttled and measured on it), and the run leaves
 * no swap device, loop device, mount, cgroup, process or state behind; a swap daemon or data path
 * killed mid-run is a fault event of the run (a dead data path is replaced), and the run still
 * finishes and leaves nothing.
 */
import assert from "node:assert/strict";
import { validatePlaybook } from "../controller/playbook/validate.ts";
import { readEpochs } from "../controller/results/read.ts";
import type { EpochRecord, RunEvent } from "../controller/results/types.ts";
import { runPlaybook, type RunResult } from "../controller/run/run.ts";
import { detectCgroups } from "../agent/cgroup/mounts.ts";
import { exists } from "../agent/cgroup/files.ts";
import type { DeviceRecord } from "../remote_swap/protocol.ts";
import { devicePaths, listDeviceIds, readRecord } from "../remote_swap/state_dir.ts";
import { buildMemToucher } from "./fixtures/mem_toucher.ts";
import {
  assertNothingUnder,
  REMOTE_SWAP_PREREQS,
  toucherOnRemoteSwap,
} from "./fixtures/remote_swap.ts";
import { systemTest } from "./prereq.ts";

/** What a test does while the run goes on (after its first epoch). */
type DuringRun = (context: { root: string; device: DeviceRecord }) => Promise<void>;

/**
 * Runs a one-app playbook with `remoteSwap` under a private device state directory; calls
 * `during` once the device is up and the first epoch is written; returns the run's result,
 * events and epochs after checking that nothing of the run is left.
 */
async function runWithRemoteSwap(
  options: { priority: number; duration: string; during?: DuringRun },
): Promise<{ result: RunResult; events: RunEvent[]; records: EpochRecord[] }> {
  const output = await Deno.makeTempDir({ prefix: "spirit-run-remote-swap-" });
  const root = `${output}/remote-swap`;
  const toucher = await buildMemToucher();
  const before = Deno.env.get("SPIRIT_REMOTE_SWAP_DIR");
  // The agent (started by the run) keeps this test's devices apart from anyone else's.
  Deno.env.set("SPIRIT_REMOTE_SWAP_DIR", root);
  try {
    const playbook = validatePlaybook(toucherOnRemoteSwap({
      name: "remote-swap-run",
      app: "toucher",
      toucher: toucher.path,
      priority: options.priority,
      duration: options.duration,
      output,
    }));
    let firstEpoch: () => void = () => {};
    const epochWritten = new Promise<void>((resolve) => firstEpoch = resolve);
    const running = runPlaybook(playbook, {
      output: "quiet",
      sinks: [{ epoch: () => firstEpoch(), event: () => {} }],
    });
    const during = options.during;
    const acted = during === undefined ? Promise.resolve() : epochWritten.then(async () => {
      const [id] = await listDeviceIds(root);
      assert.ok(id !== undefined, "the device is up once the first epoch is written");
      const device = await readRecord(devicePaths(root, id));
      assert.ok(device !== null);
      await during({ root, device });
    });
    // The run ends by itself; a failure while acting still waits for its teardown.
    const [result, action] = await Promise.allSettled([running, acted]);
    if (result.status === "rejected") throw result.reason;
    if (action.status === "rejected") throw action.reason;
    assert.ok(result.value.runDir !== null);
    const events = (await Deno.readTextFile(`${result.value.runDir}/events.jsonl`)).trim()
      .split("\n").map((line) => JSON.parse(line) as RunEvent);
    const { records } = await readEpochs(result.value.runDir);
    await assertNothingLeft(root, result.value.runDir);
    return { result: result.value, events, records };
  } finally {
    if (before === undefined) Deno.env.delete("SPIRIT_REMOTE_SWAP_DIR");
    else Deno.env.set("SPIRIT_REMOTE_SWAP_DIR", before);
    await toucher.remove();
    await Deno.remove(output, { recursive: true });
  }
}

/** No swap entry, loop device, mount, device state, process or cgroup of the run is left. */
async function assertNothingLeft(root: string, runDir: string): Promise<void> {
  await assertNothingUnder(root);
  const { runId } = JSON.parse(await Deno.readTextFile(`${runDir}/run.json`));
  for (const pattern of [runId, root]) {
    const pgrep = await new Deno.Command("pgrep", { args: ["-af", pattern], stdout: "piped" })
      .output();
    const left = new TextDecoder().decode(pgrep.stdout).split("\n").filter((l) =>
      l.trim() !== "" && !l.includes("pgrep")
    );
    assert.deepEqual(left, [], `no process of the run left (${pattern})`);
  }
  const layout = await detectCgroups();
  for (const mount of [layout.memory, layout.io]) {
    if (mount === null) continue;
    assert.ok(!(await exists(`${mount.mountPoint}/spirit/toucher`)), "no cgroup left");
  }
}

/** Resolves once process `pid` is gone (polls its /proc entry: the signal of its exit). */
async function waitGone(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (await exists(`/proc/${pid}`)) {
    assert.ok(Date.now() < deadline, `process ${pid} is still there after SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

systemTest(
  "spirit run with remoteSwap: device before the app, the app swaps to it, nothing left after",
  REMOTE_SWAP_PREREQS,
  async () => {
    const { events, records } = await runWithRemoteSwap({ priority: 32767, duration: "8s" });
    const swap = events.findIndex((e) =>
      /^remote swap \/dev\/loop\d+ on 127\.0\.0\.1:\d+ \(tcp, c engine\)$/.test(e.message)
    );
    const launch = events.findIndex((e) => e.app === "toucher" && e.kind === "start");
    assert.ok(swap >= 0, JSON.stringify(events));
    assert.ok(swap < launch, "the device came up before the app");
    const device = /\/dev\/loop\d+/.exec(events[swap]?.message ?? "")?.[0];
    const removed = events.find((e) => e.kind === "stop" && e.details?.remoteSwap === "removed");
    assert.equal(removed?.details?.device, device, "the teardown's removal is an event");
    assert.match(removed?.message ?? "", /^remote swap \/dev\/loop\d+ removed \(swapoff, /);
    const app = records.flatMap((r) => r.apps).filter((a) => a.name === "toucher");
    assert.ok(app.some((a) => (a.opsPerSec ?? 0) > 0), "the program ran");
    // Its swap-in was measured on the node's remote swap device (the default for the app).
    assert.ok(app.some((a) => a.used.remoteReadMbps > 0), JSON.stringify(app.slice(-2)));
  },
);

systemTest(
  "spirit run: the swap daemon killed mid-run is a remote-swap-daemon-dead fault; the data path serves on and the run finishes clean",
  REMOTE_SWAP_PREREQS,
  async () => {
    let killed: DeviceRecord | null = null;
    const { result, events } = await runWithRemoteSwap({
      priority: 32767, // the app's pages are on the device: the engine keeps serving them
      duration: "10s",
      during: async ({ device }) => {
        killed = device;
        Deno.kill(device.pid, "SIGKILL");
        await waitGone(device.pid);
      },
    });
    assert.ok(killed !== null);
    const device = (killed as DeviceRecord).device;
    const fault = events.find((e) => e.details?.fault === "remote-swap-daemon-dead");
    assert.ok(fault !== undefined, `no daemon fault: ${JSON.stringify(events)}`);
    assert.equal(fault.kind, "fault");
    assert.equal(fault.host, "node");
    assert.equal(fault.details?.device, device);
    assert.match(fault.message, /serves on/);
    assert.ok(
      !events.some((e) => e.details?.fault === "remote-swap-dead"),
      "the data path was not reported dead",
    );
    assert.ok(
      !events.some((e) => e.app === "toucher" && e.kind === "fault"),
      "the program did not crash: its swapped pages were still served",
    );
    assert.ok(result.epochs >= 8 && !result.interrupted, "the run went to its end");
    const stop = events.find((e) => e.kind === "stop" && /agent torn down/.test(e.message));
    assert.ok(stop !== undefined, "the agent was torn down");
  },
);

systemTest(
  "spirit run: the data path killed mid-run is a remote-swap-dead fault; the device is replaced and the run finishes clean",
  REMOTE_SWAP_PREREQS,
  async () => {
    let killed: DeviceRecord | null = null;
    const { result, events } = await runWithRemoteSwap({
      // Lowest priority: on a shared machine no one else's pages are on a device whose data
      // path this test kills (the app swaps to the other devices, if any).
      priority: -1,
      duration: "40s",
      during: async ({ device }) => {
        assert.ok(device.enginePid !== null && device.enginePid !== device.pid);
        killed = device;
        Deno.kill(device.enginePid, "SIGKILL");
        await waitGone(device.enginePid);
      },
    });
    assert.ok(killed !== null);
    const device = (killed as DeviceRecord).device;
    const dead = events.find((e) => e.details?.fault === "remote-swap-dead");
    assert.ok(dead !== undefined, `no data path fault: ${JSON.stringify(events)}`);
    assert.equal(dead.kind, "fault");
    assert.equal(dead.details?.device, device);
    const replaced = events.find((e) =>
      e.kind === "restart" && e.details?.remoteSwap === "replaced"
    );
    assert.ok(replaced !== undefined, `not replaced: ${JSON.stringify(events)}`);
    assert.ok(events.indexOf(dead) < events.indexOf(replaced));
    assert.ok(result.epochs >= 30 && !result.interrupted, "the run went to its end");
  },
);
