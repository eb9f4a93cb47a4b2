/**
 * `spirit exec` end to end: one JSON document with the run's figures, its own cgroup created and
 * removed, the command's exit status passed on, and refusal of devices that are not swap.
 */
import assert from "node:assert/strict";
import { LoopSwap } from "./fixtures/loop_swap.ts";
import { buildMemToucher } from "./fixtures/mem_toucher.ts";
import { commandOnPath, pathExists, ROOT, systemTest } from "./prereq.ts";

const CLI = new URL("../controller/cli.ts", import.meta.url).pathname;
const MiB = 2 ** 20;
const REQUIRES = [
  ROOT,
  commandOnPath("losetup"),
  commandOnPath("gcc"),
  commandOnPath("setpriv"),
  pathExists("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
];

async function spiritExec(args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "exec", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

systemTest(
  "spirit exec --json prints one document with the run's figures and removes its cgroup",
  REQUIRES,
  async () => {
    await using swap = await LoopSwap.create(256 * MiB);
    const toucher = await buildMemToucher();
    try {
      const run = await spiritExec([
        "--cache",
        "32MiB",
        "--bandwidth",
        "1GB/s",
        "--swap-device",
        swap.device,
        "--json",
        "--",
        toucher.path,
        "96",
        "2",
      ]);
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.trim().split("\n");
      assert.equal(lines.length, 1, `stdout: ${run.stdout}`);
      const result = JSON.parse(lines[0] ?? "");
      assert.equal(result.exitCode, 0);
      assert.ok(result.durationSec > 0);
      assert.ok(
        result.peakResidentBytes > 0 && result.peakResidentBytes <= 32 * MiB * 1.05,
        `${result.peakResidentBytes}`,
      );
      assert.ok(result.swapInBytes > 32 * MiB);
      assert.ok(result.swapOutBytes >= 64 * MiB);
      assert.ok(result.majorFaults > 0);
      assert.deepEqual(result.swapDevices, [swap.device]);
      assert.match(run.stderr, /touched 49152/, "the command's stdout goes to stderr with --json");
      const leftovers = [...Deno.readDirSync("/sys/fs/cgroup/memory")].filter((e) =>
        e.name === "spirit"
      );
      assert.deepEqual(leftovers, []);
    } finally {
      await toucher.remove();
    }
  },
);

systemTest("spirit exec exits with the command's status", REQUIRES, async () => {
  await using swap = await LoopSwap.create(64 * MiB);
  const run = await spiritExec([
    "--cache",
    "64MiB",
    "--bandwidth",
    "100Mbps",
    "--swap-device",
    swap.device,
    "--json",
    "--",
    "sh",
    "-c",
    "exit 3",
  ]);
  assert.equal(run.code, 3, run.stderr);
  assert.equal(JSON.parse(run.stdout).exitCode, 3);
});

systemTest("spirit exec refuses a device that is not an active swap device", [ROOT], async () => {
  const run = await spiritExec([
    "--cache",
    "64MiB",
    "--bandwidth",
    "100Mbps",
    "--swap-device",
    "/dev/null",
    "--",
    "true",
  ]);
  assert.equal(run.code, 125);
  assert.match(run.stderr, /\/dev\/null is not an active swap device/);
  assert.equal(run.stdout, "");
});

Deno.test("spirit exec rejects a malformed cache size as a usage error", async () => {
  const run = await spiritExec(["--cache", "lots", "--bandwidth", "100Mbps", "--", "true"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /Cannot parse size "lots"/);
});
