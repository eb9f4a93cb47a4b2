/**
 * The remote swap device over RDMA, on the fake_rdma TEST DOUBLE (libibverbs/librdmacm over
 * AF_UNIX and process_vm_readv/writev; no NIC): `spirit memserver --transport rdma` and
 * `spirit remote-swap up --transport rdma` as real processes; the daemon's RDMA data path
 * (TypeScript worker, one-sided READ/WRITE into the server's registered region) carries the
 * loop device's I/O and an unmodified program's swap.
 */
import assert from "node:assert/strict";
import { readLines } from "../common/lines.ts";
import { buildFakeRdma, FAKE_RDMA_PREREQS, fakeRdmaEnv } from "./fixtures/fake_rdma/build.ts";
import { assertRemoved, REMOTE_SWAP_PREREQS, RemoteSwapFixture } from "./fixtures/remote_swap.ts";
import { systemTest } from "./prereq.ts";

const CLI = new URL("../controller/cli.ts", import.meta.url).pathname;
const MiB = 1 << 20;

systemTest(
  "remote swap over RDMA (fake_rdma): the loop device's data and a program's swap go through one-sided RDMA",
  [...REMOTE_SWAP_PREREQS, ...FAKE_RDMA_PREREQS],
  async () => {
    const library = await buildFakeRdma();
    const fakeState = await Deno.makeTempDir({ prefix: "spirit-fake-rdma-state-" });
    const env = fakeRdmaEnv(library, fakeState);
    // The TCP memory server of the fixture provides the token file and state directory; the
    // RDMA one serves the device, with the same secret (proved in the CM private data).
    const fixture = await RemoteSwapFixture.start();
    const server = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        CLI,
        "memserver",
        "--listen",
        "127.0.0.1:0",
        "--capacity",
        "512MiB",
        "--transport",
        "rdma",
        "--token-file",
        fixture.tokenFile,
      ],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines = readLines(server.stdout);
    try {
      const ready = JSON.parse((await lines.next()).value ?? "{}");
      assert.equal(ready.transport, "rdma");
      const memserver = `127.0.0.1:${ready.port}`;
      const result = await fixture.cli(
        [
          "remote-swap",
          "up",
          "--memserver",
          memserver,
          "--token-file",
          fixture.tokenFile,
          "--size",
          "256MiB",
          "--transport",
          "rdma",
          "--priority",
          "32767",
          "--json",
        ],
        { env },
      );
      assert.equal(result.code, 0, result.stderr);
      const up = JSON.parse(result.stdout);
      assert.equal(up.transport, "rdma");
      assert.equal(up.engine, "ts");

      const { exec, report } = await fixture.probe(up.device, {
        cacheMiB: 16,
        sizeMiB: 64,
        seed: 9,
      });
      assert.equal(exec.exitCode, 0);
      assert.equal(report.badPages, 0, "every page read back as written, through RDMA");
      const status = JSON.parse(
        (await fixture.cli(["remote-swap", "status", "--json"], { env })).stdout,
      );
      const device = status.devices[0];
      assert.equal(device.transport, "rdma");
      assert.ok(device.bytesWritten >= 16 * MiB, `written through RDMA: ${device.bytesWritten}`);
      assert.ok(device.bytesRead >= 16 * MiB, `read through RDMA: ${device.bytesRead}`);

      const down = await fixture.cli(["remote-swap", "down", "--all"], { env });
      assert.equal(down.code, 0, down.stderr);
      await assertRemoved(up, fixture.root);
    } finally {
      await fixture.close();
      server.kill("SIGTERM");
      for await (const _ of lines) { /* drain */ }
      await server.status;
      await server.stderr.cancel();
      await Deno.remove(fakeState, { recursive: true });
    }
  },
);
