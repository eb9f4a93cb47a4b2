/**
 * `spirit run` with `remoteSwap` on a compute host: the node's remote swap device comes up before
 * the app, an unmodified program swaps to it (throttled and measured on it), and the run leaves
 * no swap device, loop device, mount, cgroup, process or state behind.
 */
import assert from "node:assert/strict";
import { validatePlaybook } from "../controller/playbook/validate.ts";
import { readEpochs } from "../controller/results/read.ts";
import { runPlaybook } from "../controller/run/run.ts";
import { detectCgroups } from "../agent/cgroup/mounts.ts";
import { exists } from "../agent/cgroup/files.ts";
import { buildMemToucher } from "./fixtures/mem_toucher.ts";
import { REMOTE_SWAP_PREREQS, swapsBackedUnder } from "./fixtures/remote_swap.ts";
import { systemTest } from "./prereq.ts";

systemTest(
  "spirit run with remoteSwap: device before the app, the app swaps to it, nothing left after",
  REMOTE_SWAP_PREREQS,
  async () => {
    const output = await Deno.makeTempDir({ prefix: "spirit-run-remote-swap-" });
    const root = `${output}/remote-swap`;
    const toucher = await buildMemToucher();
    const before = Deno.env.get("SPIRIT_REMOTE_SWAP_DIR");
    // The agent (started by the run) keeps this test's devices apart from anyone else's.
    Deno.env.set("SPIRIT_REMOTE_SWAP_DIR", root);
    try {
      const playbook = validatePlaybook({
        name: "remote-swap-run",
        hosts: {
          mem: { role: "memory", memserver: { capacity: "512MiB", transport: "tcp", port: 0 } },
          node: {
            role: "compute",
            memoryNode: "mem",
            cache: "32MiB",
            bandwidth: "2Gbps",
            remoteSwap: { size: "256MiB", priority: 32767 },
          },
        },
        apps: [{
          name: "toucher",
          host: "node",
          command: {
            argv: [toucher.path, "96", "100000"],
            throughput: { kind: "log", pattern: "^touched (\\d+)$" },
          },
        }],
        policy: "static",
        epoch: "1s",
        warmup: "2s",
        duration: "8s",
        output,
      });
      const result = await runPlaybook(playbook, { output: "quiet" });
      assert.ok(result.runDir !== null);
      const events = (await Deno.readTextFile(`${result.runDir}/events.jsonl`)).trim().split("\n")
        .map((line) => JSON.parse(line));
      const swap = events.findIndex((e) =>
        /^remote swap \/dev\/loop\d+ on 127\.0\.0\.1:\d+ \(tcp, c engine\)$/.test(e.message)
      );
      const launch = events.findIndex((e) => e.app === "toucher" && e.kind === "start");
      assert.ok(swap >= 0, JSON.stringify(events));
      assert.ok(swap < launch, "the device came up before the app");
      const device = /\/dev\/loop\d+/.exec(events[swap].message)?.[0] ?? "";
      const { records } = await readEpochs(result.runDir);
      const app = records.flatMap((r) => r.apps).filter((a) => a.name === "toucher");
      assert.ok(app.some((a) => (a.opsPerSec ?? 0) > 0), "the program ran");
      // Its swap-in was measured on the node's remote swap device (the default for the app).
      assert.ok(app.some((a) => a.used.remoteReadMbps > 0), JSON.stringify(app.slice(-2)));
      // Nothing of the device is left.
      assert.deepEqual(
        await swapsBackedUnder(root),
        [],
        `${device} (or another of ours) still swap`,
      );
      const loops = new TextDecoder().decode(
        (await new Deno.Command("losetup", {
          args: ["--list", "--noheadings", "--output", "BACK-FILE"],
          stdout: "piped",
        }).output()).stdout,
      );
      assert.ok(!loops.includes(root), "no loop device left");
      assert.ok(!(await Deno.readTextFile("/proc/self/mountinfo")).includes(root), "no mount left");
      const devices = [];
      for await (const entry of Deno.readDir(root)) {
        if (!entry.name.startsWith(".engine-")) devices.push(entry.name);
      }
      assert.deepEqual(devices, [], "no device state left");
      const { runId } = JSON.parse(await Deno.readTextFile(`${result.runDir}/run.json`));
      const pgrep = await new Deno.Command("pgrep", { args: ["-af", runId], stdout: "piped" })
        .output();
      const left = new TextDecoder().decode(pgrep.stdout).split("\n").filter((l) =>
        l.trim() !== "" && !l.includes("pgrep")
      );
      assert.deepEqual(left, [], "no process of the run left");
      const layout = await detectCgroups();
      for (const mount of [layout.memory, layout.io]) {
        if (mount === null) continue;
        assert.ok(!(await exists(`${mount.mountPoint}/spirit/toucher`)), "no cgroup left");
      }
    } finally {
      if (before === undefined) Deno.env.delete("SPIRIT_REMOTE_SWAP_DIR");
      else Deno.env.set("SPIRIT_REMOTE_SWAP_DIR", before);
      await toucher.remove();
      await Deno.remove(output, { recursive: true });
    }
  },
);
