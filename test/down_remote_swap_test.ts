/**
 * `spirit down` after a controller killed with SIGKILL mid-run removes the run's remote swap
 * device and says so: through the agent's teardown while the agent lives, and straight from the
 * device state (by the agent's label) when the agent is gone too. Afterwards no swap entry, loop
 * device, mount, engine or daemon process, or device state is left.
 */
import assert from "node:assert/strict";
import { detectCgroups } from "../agent/cgroup/mounts.ts";
import { exists, killAndRemove } from "../agent/cgroup/files.ts";
import type { DeviceRecord } from "../remote_swap/protocol.ts";
import { devicePaths, listDeviceIds, readRecord } from "../remote_swap/state_dir.ts";
import { processExists } from "../remote_swap/system.ts";
import { buildMemToucher } from "./fixtures/mem_toucher.ts";
import {
  assertNothingUnder,
  REMOTE_SWAP_PREREQS,
  toucherOnRemoteSwap,
} from "./fixtures/remote_swap.ts";
import { systemTest } from "./prereq.ts";

const CLI = new URL("../controller/cli.ts", import.meta.url).pathname;

/** Polls `check` until it returns a value (an observable state of the run), or fails. */
async function waitFor<T>(what: string, check: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const value = await check();
    if (value !== null) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function text(path: string): Promise<string | null> {
  return await Deno.readTextFile(path).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  });
}

/** A run of one app on a remote swap device, its controller killed once the loop runs. */
interface KilledRun {
  runDir: string;
  hostDir: string;
  root: string;
  app: string;
  device: DeviceRecord & { device: string };
  spirit(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

async function withKilledController(fn: (run: KilledRun) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spirit-down-swap-" });
  const root = `${dir}/remote-swap`;
  const app = `swapdown-${crypto.randomUUID().slice(0, 8)}`;
  const env = { SPIRIT_REMOTE_SWAP_DIR: root };
  const spirit = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, ...args],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
  };
  const toucher = await buildMemToucher();
  let runDir: string | null = null;
  const spec = toucherOnRemoteSwap({
    name: "down-swap",
    app,
    toucher: toucher.path,
    priority: 32767,
    duration: "10m",
    output: `${dir}/results`,
  });
  await Deno.writeTextFile(`${dir}/playbook.ts`, `export default ${JSON.stringify(spec)};\n`);
  const controller = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "run", `${dir}/playbook.ts`, "--quiet"],
    env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    runDir = await waitFor("the first epoch", async () => {
      if (!(await exists(`${dir}/results`))) return null;
      for await (const entry of Deno.readDir(`${dir}/results`)) {
        const path = `${dir}/results/${entry.name}`;
        if ((await text(`${path}/epochs.jsonl`))?.includes("\n")) return path;
      }
      return null;
    });
    const device = await waitFor("the device record", async () => {
      const [id] = await listDeviceIds(root);
      const record = id === undefined ? null : await readRecord(devicePaths(root, id));
      return record?.device === null || record === null
        ? null
        : { ...record, device: record.device };
    });
    controller.kill("SIGKILL");
    await controller.status;
    const { hostDir } = JSON.parse(await Deno.readTextFile(`${runDir}/run.json`));
    await fn({ runDir, hostDir, root, app, device, spirit });
  } finally {
    if (processExists(controller.pid)) controller.kill("SIGKILL");
    await controller.status;
    // Idempotent: after a failure above it still removes whatever the run left.
    if (runDir !== null) await spirit(["down", runDir]);
    await toucher.remove();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The engine, the daemon, and every process naming the run or the device state are gone. */
async function assertNoProcessLeft(run: KilledRun): Promise<void> {
  assert.ok(!processExists(run.device.pid), `the swap daemon ${run.device.pid} still runs`);
  const engine = run.device.enginePid;
  assert.ok(engine === null || !processExists(engine), `the swap engine ${engine} still runs`);
  for (const pattern of [run.hostDir, run.root]) {
    const pgrep = await new Deno.Command("pgrep", { args: ["-af", pattern], stdout: "piped" })
      .output();
    const left = new TextDecoder().decode(pgrep.stdout).split("\n").filter((l) =>
      l.trim() !== "" && !l.includes("pgrep")
    );
    assert.deepEqual(left, [], `processes naming ${pattern} are left`);
  }
}

systemTest(
  "spirit down after a controller SIGKILL removes the run's remote swap device through its agent and reports it",
  REMOTE_SWAP_PREREQS,
  () =>
    withKilledController(async (run) => {
      const down = await run.spirit(["down", run.runDir]);
      assert.equal(down.code, 0, down.stderr);
      assert.match(
        down.stdout,
        new RegExp(
          `^(?:mem\\+)?node: removed remote swap ${run.device.device} \\(swapoff, .*state.*\\)$`,
          "m",
        ),
      );
      assert.match(
        down.stdout,
        new RegExp(`^(?:mem\\+)?node: stopped app down-swap-.*: ${run.app}$`, "m"),
      );
      await assertNothingUnder(run.root);
      await assertNoProcessLeft(run);
      const again = await run.spirit(["down", run.runDir]);
      assert.equal(again.code, 0, again.stderr);
      assert.doesNotMatch(again.stdout, /removed remote swap/, "idempotent");
    }),
);

systemTest(
  "spirit down after a controller SIGKILL removes the remote swap device straight from its state when the agent is gone too",
  REMOTE_SWAP_PREREQS,
  () =>
    withKilledController(async (run) => {
      // The agent daemon and its app die too (a crashed agent): only the device is left.
      const agentPid = Number(await Deno.readTextFile(`${run.hostDir}/agent-node/agent.pid`));
      Deno.kill(agentPid, "SIGKILL");
      await waitFor("the agent's exit", () => Promise.resolve(processExists(agentPid) ? null : 1));
      const layout = await detectCgroups();
      const cgroups = [layout.memory, layout.io].flatMap((mount) =>
        mount === null ? [] : [`${mount.mountPoint}/spirit/${run.app}`]
      );
      try {
        await killAndRemove(cgroups.map((dir) => `${dir}/cgroup.procs`), cgroups);
        assert.ok(processExists(run.device.pid), "the swap daemon outlived the agent");
        const down = await run.spirit(["down", run.runDir]);
        assert.match(
          down.stdout,
          new RegExp(
            `^(?:mem\\+)?node: removed remote swap ${run.device.device} \\(swapoff, .*state.*\\)$`,
            "m",
          ),
        );
        // The agent's own teardown failed (it is gone), and only that is an error.
        assert.equal(down.code, 1);
        const errors = down.stderr.trim().split("\n");
        assert.equal(errors.length, 1, down.stderr);
        assert.match(
          errors[0] ?? "",
          /^(?:mem\+)?node: error: agent node of run .*exited .* before attaching/,
        );
        await assertNothingUnder(run.root);
        await assertNoProcessLeft(run);
      } finally {
        for (const dir of cgroups) {
          if (await exists(dir)) await killAndRemove([`${dir}/cgroup.procs`], [dir]);
        }
      }
    }),
);
