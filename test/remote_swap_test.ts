/**
 * The remote swap device end to end, through the CLI as users run it: `spirit remote-swap up`
 * against a real memory server, unmodified C programs (the swap prober) in memory cgroups
 * (`spirit exec`) writing a pattern over several times their cache limit and reading it back,
 * the memory server's accounting, the read throttle on the loop device, and `down`.
 *
 * Other tests on this machine may have swap devices of the same priority: the kernel then
 * spreads pages over them, so assertions about this device use its own counters (the memory
 * server's, the cgroup's I/O on this loop device), never totals.
 */
import assert from "node:assert/strict";
import {
  assertNothingUnder,
  assertRemoved,
  cliAsNobody,
  REMOTE_SWAP_PREREQS,
  RemoteSwapFixture,
} from "./fixtures/remote_swap.ts";

/** A system test with a fresh fixture (memory server, state directory), always cleaned up. */
function remoteSwapTest(name: string, fn: (fixture: RemoteSwapFixture) => Promise<void>): void {
  systemTest(name, REMOTE_SWAP_PREREQS, async () => {
    const fixture = await RemoteSwapFixture.start();
    try {
      await fn(fixture);
    } finally {
      await fixture.close();
    }
  });
}
import { systemTest } from "./prereq.ts";

const MiB = 1 << 20;

/** Swap devices other than `device` whose priority is at least `priority` (they share pages). */
async function peersAtOrAbove(device: string, priority: number): Promise<number> {
  const lines = (await Deno.readTextFile("/proc/swaps")).split("\n").slice(1);
  return lines.filter((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[0] !== undefined && fields[0] !== "" && fields[0] !== device &&
      Number(fields[4]) >= priority;
  }).length;
}

/** Polls `read` every 50 ms while `running` is pending; returns the largest value seen. */
async function maxWhile(running: Promise<unknown>, read: () => Promise<number>): Promise<number> {
  let done = false;
  running.finally(() => done = true);
  let max = 0;
  while (!done) {
    max = Math.max(max, await read());
    await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, 50))]);
  }
  return max;
}

/** Waits until `read` returns at most `limit` (an observable signal), with a deadline. */
async function until(read: () => Promise<number>, limit: number, what: string): Promise<number> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    const value = await read();
    if (value <= limit) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what} (${value})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

remoteSwapTest(
  "remote swap: a program reads back what it wrote at 4x its cache, 3 times in a row; pages are stored on the memory server and discards free them; down leaves nothing",
  async (fixture) => {
    const up = await fixture.up({ sizeMiB: 512 });
    assert.match(up.device, /^\/dev\/loop\d+$/);
    assert.equal(up.sizeBytes, 512 * MiB);
    assert.equal(up.transport, "tcp");
    assert.equal(up.engine, "c");
    const swaps = await Deno.readTextFile("/proc/swaps");
    assert.match(swaps, new RegExp(`^${up.device}\\s+partition\\s+\\d+\\s+\\d+\\s+32767`, "m"));

    const status = await fixture.cli(["remote-swap", "status", "--json"]);
    assert.equal(status.code, 0, status.stderr);
    const document = JSON.parse(status.stdout);
    assert.equal(document.devices.length, 1);
    const [device] = document.devices;
    assert.equal(device.device, up.device);
    assert.equal(device.pid, up.pid);
    assert.equal(device.state, "active");
    for (const key of ["bytesRead", "bytesWritten", "remoteBytesInUse"]) {
      assert.equal(typeof device[key], "number", key);
    }
    assert.equal(device.guards.memoryLock, true, "the C engine locks its memory");

    const share = 1 / (1 + await peersAtOrAbove(up.device, up.priority));
    for (let run = 1; run <= 3; run++) {
      const probe = fixture.probe(up.device, { cacheMiB: 32, sizeMiB: 128, seed: run });
      const storedMax = await maxWhile(
        probe,
        async () => (await fixture.serverStats()).swap.storedBytes,
      );
      const { exec, report } = await probe;
      assert.equal(exec.exitCode, 0, `run ${run}: the prober failed`);
      assert.equal(report.badPages, 0, `run ${run}: every page read back as written`);
      assert.ok(
        report.fillSwappedPages * 4096 >= 64 * MiB,
        `run ${run}: most pages went to swap`,
      );
      assert.ok(
        storedMax >= 0.5 * share * 96 * MiB,
        `run ${run}: the memory server held ${storedMax} bytes of swapped pages (share ${share})`,
      );
      // The program's exit frees its swap slots; the kernel discards them (FUSE punch-hole) and
      // the memory server frees those pages. (Pages of other tests' programs may share the
      // device: the drop, not the level, is what this program's pages account for.)
      const ours = 0.5 * share * 96 * MiB;
      await until(
        async () => (await fixture.serverStats()).swap.storedBytes,
        storedMax - ours,
        "discards",
      );
    }
    const stats = await fixture.serverStats();
    assert.equal(stats.swap.regions.length, 1, "one sparse region for the device");
    assert.ok((stats.swap.regions[0]?.clients.length ?? 0) >= 1);

    const down = await fixture.cli(["remote-swap", "down", up.device]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, new RegExp(`Removed ${up.device}: swapoff, loop-detach, unmount`));
    await assertRemoved(up, fixture.root);
    // The engine frees its region as it exits; the server may take a moment to process it.
    await until(
      async () => (await fixture.serverStats()).swap.regions.length,
      0,
      "the region freed on the server",
    );
    const again = await fixture.cli(["remote-swap", "down", up.device]);
    assert.equal(again.code, 0, "down is idempotent");
    assert.match(again.stdout, /already removed/);
  },
);

remoteSwapTest(
  "remote swap: two programs at once each read back what they wrote",
  async (fixture) => {
    const up = await fixture.up({ sizeMiB: 512 });
    const runs = await Promise.all(
      [1, 2].map((seed) =>
        fixture.probe(up.device, { cacheMiB: 24, sizeMiB: 96, seed: 100 + seed })
      ),
    );
    for (const { exec, report } of runs) {
      assert.equal(exec.exitCode, 0);
      assert.equal(report.badPages, 0);
      assert.ok(report.fillSwappedPages * 4096 >= 48 * MiB);
    }
    await fixture.down();
    await assertRemoved(up, fixture.root);
  },
);

remoteSwapTest(
  "remote swap: the per-app swap-in throttle on the loop device holds within 5 %",
  async (fixture) => {
    const up = await fixture.up({ sizeMiB: 256 });
    const limitBytesPerSec = 8_000_000;
    const { exec, report } = await fixture.probe(up.device, {
      cacheMiB: 16,
      sizeMiB: 80,
      bandwidth: `${limitBytesPerSec}B/s`,
    });
    assert.equal(report.badPages, 0);
    // Bytes read from this loop device by the app's cgroup, over the sequential read phase.
    const rate = exec.swapInBytes / (report.seqUs / 1e6);
    assert.ok(exec.swapInBytes >= 32 * MiB, `swapped in ${exec.swapInBytes} bytes`);
    assert.ok(
      Math.abs(rate - limitBytesPerSec) <= 0.05 * limitBytesPerSec,
      `swap-in at ${Math.round(rate)} B/s under a ${limitBytesPerSec} B/s limit`,
    );
    await fixture.down();
    await assertRemoved(up, fixture.root);
  },
);

remoteSwapTest(
  "remote swap: a dead data path is reported (status failed, event logged) and down still removes everything",
  async (fixture) => {
    // Without swapon: other tests' programs must never have pages on a device we break.
    const up = await fixture.up({ sizeMiB: 64, extra: ["--no-swapon"] });
    const dd = await new Deno.Command("dd", {
      args: [`if=/dev/urandom`, `of=${up.device}`, "bs=1M", "count=8", "oflag=direct"],
      stderr: "piped",
    }).output();
    assert.equal(dd.code, 0, new TextDecoder().decode(dd.stderr));
    Deno.kill(up.enginePid, "SIGKILL");
    const deadline = performance.now() + 10_000;
    let state = "";
    while (state !== "failed") {
      const status = JSON.parse((await fixture.cli(["remote-swap", "status", "--json"])).stdout);
      state = status.devices[0]?.state ?? "gone";
      assert.ok(performance.now() < deadline, `status stayed ${state}`);
    }
    const events = await Deno.readTextFile(`${fixture.root}/${up.id}/events.jsonl`);
    assert.match(events, /"event":"engine-exited".*pages swapped to \/dev\/loop\d+ are lost/);
    const read = await new Deno.Command("dd", {
      args: [`if=${up.device}`, "of=/dev/null", "bs=1M", "count=1", "iflag=direct"],
      stderr: "piped",
    }).output();
    assert.notEqual(read.code, 0, "reads fail once the data path is gone");
    const down = await fixture.down();
    assert.equal(down.code, 0, down.stderr);
    await assertRemoved(up, fixture.root);
  },
);

remoteSwapTest(
  "remote swap: a killed daemon leaves a working data path; status says dead and down removes the device in order",
  async (fixture) => {
    const up = await fixture.up({ sizeMiB: 64, extra: ["--no-swapon"] });
    const data = new Uint8Array(MiB).map((_, i) => (i * 131 + (i >> 12)) & 0xff);
    const file = `${fixture.root}/../pattern`;
    await Deno.writeFile(file, data);
    const write = await new Deno.Command("dd", {
      args: [`if=${file}`, `of=${up.device}`, "bs=1M", "count=1", "oflag=direct"],
    }).output();
    assert.equal(write.code, 0);
    Deno.kill(up.pid, "SIGKILL");
    const status = JSON.parse((await fixture.cli(["remote-swap", "status", "--json"])).stdout);
    assert.equal(status.devices[0]?.state, "dead");
    const read = await new Deno.Command("dd", {
      args: [`if=${up.device}`, "bs=1M", "count=1", "iflag=direct"],
      stdout: "piped",
    }).output();
    assert.deepEqual(read.stdout, data, "the engine still serves the device");
    const down = await fixture.down();
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /daemon-kill|loop-detach/);
    await assertRemoved(up, fixture.root);
  },
);

remoteSwapTest("remote swap up refuses without root, and leaves nothing", async (fixture) => {
  const result = await cliAsNobody(
    upArgs(fixture.address, fixture.tokenFile),
    { SPIRIT_REMOTE_SWAP_DIR: fixture.root },
  );
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^spirit remote-swap up: remote swap needs root .* running as uid 65534\n$/,
  );
  assert.equal(result.stdout, "");
});

remoteSwapTest("remote swap up refuses without /dev/fuse, and leaves nothing", async (fixture) => {
  const result = await fixture.cli(
    upArgs(fixture.address, fixture.tokenFile),
    { env: { SPIRIT_FUSE_DEVICE: "/dev/spirit-no-such-fuse" } },
  );
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^spirit remote-swap up: \/dev\/spirit-no-such-fuse is missing: load the FUSE module/,
  );
  await assertNothingUnder(fixture.root);
});

remoteSwapTest("remote swap up refuses a bad secret, and leaves nothing", async (fixture) => {
  const wrong = `${fixture.root}-wrong-token`;
  await Deno.writeTextFile(wrong, "not-the-secret\n", { mode: 0o600 });
  const result = await fixture.cli(
    upArgs(fixture.address, wrong),
  );
  await Deno.remove(wrong);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^spirit remote-swap up: the memory server at 127\.0\.0\.1:\d+ refused the secret \(AUTH_FAILED\)\n$/,
  );
  await assertNothingUnder(fixture.root);
});

remoteSwapTest(
  "remote swap up refuses an unreachable memory server, and leaves nothing",
  async (fixture) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close(); // nothing listens there now
    const result = await fixture.cli(
      upArgs(`127.0.0.1:${port}`, fixture.tokenFile),
    );
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(
        `^spirit remote-swap up: the memory server at 127\\.0\\.0\\.1:${port} is unreachable: .*\\n$`,
      ),
    );
    await assertNothingUnder(fixture.root);
  },
);

/** `remote-swap up` for a 64 MiB device on `memserver` with `tokenFile`. */
function upArgs(memserver: string, tokenFile: string): string[] {
  return [
    "remote-swap",
    "up",
    "--memserver",
    memserver,
    "--token-file",
    tokenFile,
    "--size",
    "64MiB",
  ];
}

remoteSwapTest(
  "remote swap with the TypeScript engine over TCP (the comparison data path) serves the loop device",
  async (fixture) => {
    const up = await fixture.up({ sizeMiB: 64, extra: ["--engine", "ts", "--no-swapon"] });
    assert.equal(up.engine, "ts");
    assert.equal(up.enginePid, up.pid, "the workers run in the daemon");
    const file = `${fixture.root}/../pattern`;
    const data = new Uint8Array(4 * MiB).map((_, i) => (i * 7 + (i >> 12)) & 0xff);
    await Deno.writeFile(file, data);
    const write = await new Deno.Command("dd", {
      args: [`if=${file}`, `of=${up.device}`, "bs=1M", "count=4", "seek=8", "oflag=direct"],
      stderr: "piped",
    }).output();
    assert.equal(write.code, 0, new TextDecoder().decode(write.stderr));
    const read = await new Deno.Command("dd", {
      args: [`if=${up.device}`, "bs=1M", "count=4", "skip=8", "iflag=direct"],
      stdout: "piped",
    }).output();
    assert.ok(read.stdout.length === data.length && read.stdout.every((b, i) => b === data[i]));
    const stats = await fixture.serverStats();
    assert.equal(stats.swap.storedBytes, 4 * MiB, "2 workers, one region, 4 MiB stored");
    assert.equal(stats.swap.regions[0]?.clients.length, 2);
    const down = await fixture.down();
    assert.equal(down.code, 0, down.stderr);
    await assertRemoved(up, fixture.root);
  },
);
