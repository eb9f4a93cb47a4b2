import assert from "node:assert/strict";
import { gatherFacts } from "../../agent/facts.ts";
import {
  countCpuList,
  FACTS_SCRIPT,
  parseFactsSnapshot,
  RuntimeDoesNotStartError,
} from "./facts_snapshot.ts";

/** Runs the probe here, as `spirit check` does on a host (`stamp`: as a deploy passes it). */
async function probeHere(port = 0, runtime = Deno.execPath(), stamp?: string): Promise<string> {
  const output = await new Deno.Command("sh", {
    args: ["-c", FACTS_SCRIPT, "spirit-facts", String(port)],
    env: {
      SPIRIT_RUNTIME: runtime,
      ...(stamp === undefined ? {} : { SPIRIT_RUNTIME_STAMP: stamp }),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout);
}

Deno.test("the shell probe's facts equal the agent's own on this machine", async () => {
  const snapshot = parseFactsSnapshot(await probeHere(), "here");
  assert.deepEqual(snapshot.facts, await gatherFacts());
  assert.equal(snapshot.uid, Deno.uid());
  assert.match(snapshot.runtimeVersion, /^deno \d+\.\d+\.\d+/);
  assert.equal(snapshot.portInUse, false);
});

Deno.test("the shell probe sees a listening port and a runtime that does not start", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const snapshot = parseFactsSnapshot(await probeHere(listener.addr.port), "here");
    assert.equal(snapshot.portInUse, true);
  } finally {
    listener.close();
  }
  const dir = await Deno.makeTempDir();
  try {
    // A runtime built for another C library fails like this one: the loader cannot run it.
    const broken = `${dir}/deno`;
    await Deno.writeTextFile(broken, "#!/nonexistent/ld.so\n", { mode: 0o755 });
    const output = await probeHere(0, broken);
    assert.throws(
      () => parseFactsSnapshot(output, "h1"),
      (error: unknown) =>
        error instanceof RuntimeDoesNotStartError &&
        /^missing runtime: spirit does not start there \(exit 12[67]\): .*deno/.test(
          error.message,
        ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a deployed runtime that started on this boot is not started again", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A runtime that counts its starts.
    const runtime = `${dir}/deno`;
    await Deno.writeTextFile(
      runtime,
      `#!/bin/sh\necho x >> ${dir}/starts\nprintf 'deno 9.9.9 (test)\\nv8 1\\n'\n`,
      { mode: 0o755 },
    );
    const starts = async () => (await Deno.readTextFile(`${dir}/starts`)).split("\n").length - 1;
    const version = async (stamp?: string) =>
      parseFactsSnapshot(await probeHere(0, runtime, stamp), "here").runtimeVersion;
    assert.equal(await version("1 2 3"), "deno 9.9.9 (test)");
    assert.equal(await version("1 2 3"), "deno 9.9.9 (test)");
    assert.equal(await starts(), 1);
    const boot = (await Deno.readTextFile("/proc/sys/kernel/random/boot_id")).trim();
    assert.equal(
      await Deno.readTextFile(`${runtime}.ran`),
      `1 2 3 ${boot}\ndeno 9.9.9 (test)\nv8 1\n`,
    );
    // Another file (another stamp) starts again; without a stamp (a local runtime) it always
    // starts and nothing is recorded next to it.
    assert.equal(await version("1 2 4"), "deno 9.9.9 (test)");
    assert.equal(await starts(), 2);
    await Deno.remove(`${runtime}.ran`);
    await version();
    await version();
    assert.equal(await starts(), 4);
    await assert.rejects(Deno.stat(`${runtime}.ran`), Deno.errors.NotFound);
    // A runtime that fails is not recorded, so it is tried (and reported) every time.
    await Deno.writeTextFile(runtime, "#!/bin/sh\necho x >> " + dir + "/starts\nexit 3\n");
    await assert.rejects(async () => await version("5 5 5"), RuntimeDoesNotStartError);
    await assert.rejects(async () => await version("5 5 5"), RuntimeDoesNotStartError);
    assert.equal(await starts(), 6);
    await assert.rejects(Deno.stat(`${runtime}.ran`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The probe's output on a host unlike this one (cgroup v2, swap partition, RDMA, a PMU). */
const OTHER_HOST = [
  "--spirit:grep--",
  "/proc/self/status:Uid:\t1000\t1000\t1000\t1000",
  "/proc/self/status:Cpus_allowed_list:\t0-3,8,10-11",
  "/proc/meminfo:MemTotal:       65536000 kB",
  "/proc/self/smaps:KernelPageSize:       64 kB",
  "/proc/self/smaps:KernelPageSize:        4 kB",
  "/proc/self/mountinfo:35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - " +
  "cgroup2 cgroup2 rw",
  "--spirit:listening--",
  "--spirit:runtime--",
  "deno 2.9.6 (stable, release, aarch64-unknown-linux-gnu)",
  "v8 15.0.245.2-rusty",
  "typescript 6.0.3",
  "exit 0",
  "--spirit:hostname--",
  "node7",
  "--spirit:osrelease--",
  "6.8.0-45-generic",
  "--spirit:version--",
  "#45-Ubuntu SMP PREEMPT_DYNAMIC",
  "--spirit:arch--",
  "aarch64",
  "--spirit:v2controllers--",
  "/sys/fs/cgroup cpuset cpu io memory hugetlb pids rdma misc",
  "--spirit:memsw--",
  "--spirit:psi--",
  "yes",
  "--spirit:swaps--",
  "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority",
  "/dev/nvme0n1p3                          partition\t8388604\t\t1024\t\t-2",
  "--spirit:swapdevices--",
  "259:0\t/dev/nvme0n1p3",
  "--spirit:rdma--",
  "mlx5_1",
  "mlx5_0",
  "--spirit:paranoid--",
  "2",
  "--spirit:pmu--",
  "/sys/bus/event_source/devices/armv8_pmuv3_0/events/cpu_cycles",
  "--spirit:fuse--",
  "yes",
  "--spirit:loopcontrol--",
  "no-permission",
  "--spirit:fusermount3--",
  "--spirit:zswap--",
  "Y",
  "--spirit:end--",
  "",
].join("\n");

Deno.test("the shell probe's output of a cgroup v2 host with RDMA and a PMU parses", () => {
  const { facts, uid, portInUse } = parseFactsSnapshot(OTHER_HOST, "node7");
  assert.equal(uid, 1000);
  assert.equal(portInUse, false);
  assert.equal(facts.hostname, "node7");
  assert.equal(facts.arch, "aarch64");
  assert.equal(facts.cpus, 7);
  assert.equal(facts.memoryBytes, 65536000 * 1024);
  assert.equal(facts.pageSizeBytes, 65536);
  assert.equal(facts.cgroup.layout, 2);
  assert.deepEqual(facts.cgroup.memory, { version: 2, mount: "/sys/fs/cgroup" });
  assert.deepEqual(facts.cgroup.io, { version: 2, mount: "/sys/fs/cgroup" });
  assert.equal(facts.cgroup.memswAccounting, false);
  assert.equal(facts.psi, true);
  assert.deepEqual(facts.swapDevices, [{
    path: "/dev/nvme0n1p3",
    type: "partition",
    sizeBytes: 8388604 * 1024,
    usedBytes: 1024 * 1024,
    priority: -2,
    device: "259:0",
  }]);
  assert.deepEqual(facts.rdmaDevices, ["mlx5_0", "mlx5_1"]);
  // Unprivileged with perf_event_paranoid 2: user-space hardware counting, no software events.
  assert.equal(facts.hardwarePerfCounters, true);
  assert.equal(facts.softwarePerfEvents, false);
  assert.equal(facts.cgroupEnforcement.bandwidthRead.enforced, true);
  assert.deepEqual(facts.remoteSwapSupport, {
    devFuse: true,
    loopControl: "no-permission",
    fusermount3: null,
    zswapEnabled: true,
  });
});

Deno.test("the shell probe's output is refused with the host and the value named", () => {
  assert.throws(
    () =>
      parseFactsSnapshot(OTHER_HOST.replace("MemTotal:       65536000 kB", "MemTotal: x"), "n7"),
    /facts from n7: unreadable MemTotal "x"/,
  );
  assert.throws(
    () => parseFactsSnapshot(OTHER_HOST.replace(/Uid:.*/, "Uid:"), "n7"),
    /facts from n7: unreadable user id ""/,
  );
  assert.throws(
    () => parseFactsSnapshot(OTHER_HOST.replace("no-permission", "maybe"), "n7"),
    /facts from n7: unreadable \/dev\/loop-control state "maybe"/,
  );
  const withoutGrep = OTHER_HOST.split("\n").filter((l) => !l.startsWith("/proc/")).join("\n");
  assert.throws(
    () => parseFactsSnapshot(withoutGrep, "n7"),
    /facts from n7: grep found nothing in \/proc\/self\/status.*is grep installed/,
  );
  assert.throws(
    () => parseFactsSnapshot(OTHER_HOST.replace("--spirit:end--", ""), "n7"),
    /facts from n7: the probe's output ends early/,
  );
});

Deno.test("countCpuList counts ranges and single CPUs", () => {
  assert.equal(countCpuList("0"), 1);
  assert.equal(countCpuList("0-1"), 2);
  assert.equal(countCpuList("0-3,8,10-11\n"), 7);
  assert.throws(() => countCpuList("3-1"), /Invalid CPU list "3-1"/);
});
