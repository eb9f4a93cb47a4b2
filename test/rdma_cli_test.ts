/**
 * `spirit memserver --transport rdma|auto` as a real child process: over the fake_rdma TEST
 * DOUBLE (the client in this process moves data into the server process's memory), and
 * against the host's real libibverbs, which has no device here.
 */
import assert from "node:assert/strict";
import { connectRdma } from "../memserver/client/rdma_transport.ts";
import { TransportClosedError } from "../memserver/client/transport.ts";
import { FAKE_RDMA_PREREQS, useFakeRdmaInProcess } from "./fixtures/fake_rdma/build.ts";
import { systemTest } from "./prereq.ts";
import { readLines as lines } from "../common/lines.ts";

const CLI = new URL("../controller/cli.ts", import.meta.url).pathname;
const MEMSERVER = ["run", "-A", CLI, "memserver", "--listen", "127.0.0.1:0", "--capacity", "16MiB"];

/** Environment without the double's overrides (the host's own libraries). */
function hostEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  for (
    const key of ["SPIRIT_LIBIBVERBS", "SPIRIT_LIBRDMACM", "FAKE_RDMA_DIR", "FAKE_RDMA_DEVICES"]
  ) {
    delete env[key];
  }
  return env;
}

async function runToEnd(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return {
    code: output.code,
    stdout: text.decode(output.stdout),
    stderr: text.decode(output.stderr),
  };
}

/** Reads stdout lines of a child process. */

systemTest(
  "spirit memserver --transport rdma fails fast without RDMA devices (host libibverbs)",
  [],
  async () => {
    const result = await runToEnd([...MEMSERVER, "--transport", "rdma"], hostEnv());
    if (result.stdout.includes('"transport":"rdma"')) return; // this host has an RDMA NIC
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /--transport rdma: (no RDMA devices: ibv_get_device_list returned (NULL|an empty list)|libibverbs is not installed)/,
    );
    assert.equal(result.stdout, "");
  },
);

systemTest(
  "spirit memserver --transport rdma fails fast when the device list is empty",
  FAKE_RDMA_PREREQS,
  async () => {
    await using fake = await useFakeRdmaInProcess();
    const result = await runToEnd(
      [...MEMSERVER, "--transport", "rdma"],
      { ...hostEnv(), ...fake.env, FAKE_RDMA_DEVICES: "0" },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /returned an empty list/);
  },
);

Deno.test("spirit memserver --rdma-legacy-allow names a bad CIDR block as a usage error", async () => {
  const result = await runToEnd(
    [...MEMSERVER, "--transport", "rdma", "--rdma-legacy-allow", "10.0.0.0/24,10.1.0.0/33"],
    hostEnv(),
  );
  assert.equal(result.code, 2, result.stderr);
  assert.match(
    result.stderr,
    /--rdma-legacy-allow: "10\.1\.0\.0\/33": the prefix length must be 0 to 32 for IPv4/,
  );
});

systemTest(
  "spirit memserver --transport rdma --token-file admits the secret and allowed legacy peers only",
  FAKE_RDMA_PREREQS,
  async () => {
    await using fake = await useFakeRdmaInProcess();
    const tokenFile = `${fake.stateDir}/memserver.token`;
    await Deno.writeTextFile(tokenFile, "a5f0c3e1d2b4968778695a4b3c2d1e0f\n");
    const secret = new TextEncoder().encode("a5f0c3e1d2b4968778695a4b3c2d1e0f");
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        ...MEMSERVER,
        "--transport",
        "rdma",
        "--token-file",
        tokenFile,
        "--rdma-legacy-allow",
        "10.0.0.0/24",
        "--json-stats",
        "--stats-interval",
        "1h",
      ],
      env: { ...hostEnv(), ...fake.env },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const out = lines(child.stdout);
    let exited = false;
    try {
      const ready = JSON.parse(String((await out.next()).value));
      assert.equal(ready.transport, "rdma");
      const endpoint = { hostname: "127.0.0.1", port: ready.port };
      const use = async (
        transport: Awaited<ReturnType<typeof connectRdma>>,
      ): Promise<void> => {
        try {
          const region = await transport.allocate(2 * 1024 * 1024);
          await transport.write(region, 0, new Uint8Array(4096).fill(7));
        } finally {
          await transport.close();
        }
      };
      await use(await connectRdma({ ...endpoint, token: secret }));
      await use(await connectRdma(endpoint, { sourceAddress: "10.0.0.9" }));
      await assert.rejects(
        use(await connectRdma({ ...endpoint, token: new TextEncoder().encode("guess") })),
        /refused the connection \(bad-proof\)/,
      );
      await assert.rejects(
        use(await connectRdma(endpoint, { sourceAddress: "192.0.2.1" })),
        /refused the connection \(legacy-not-allowed\)/,
      );
      child.kill("SIGTERM");
      const rest = [];
      for await (const line of out) rest.push(JSON.parse(line));
      exited = (await child.status).code === 0;
      const stats = rest.find((r) => r.event === "stats");
      assert.equal(stats.accepted, 2);
      assert.deepEqual(stats.rejectedByReason, { "bad-proof": 1, "legacy-not-allowed": 1 });
      assert.ok(exited);
    } finally {
      if (!exited) child.kill("SIGKILL");
      await child.status;
    }
    assert.equal(fake.liveObjects(), 0);
  },
);

systemTest(
  "spirit memserver --transport auto --token-file serves RDMA where the host has a device",
  FAKE_RDMA_PREREQS,
  async () => {
    await using fake = await useFakeRdmaInProcess();
    const tokenFile = `${fake.stateDir}/memserver.token`;
    await Deno.writeTextFile(tokenFile, "run secret\n");
    const child = new Deno.Command(Deno.execPath(), {
      args: [...MEMSERVER, "--transport", "auto", "--token-file", tokenFile],
      env: { ...hostEnv(), ...fake.env },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const ready = JSON.parse(String((await lines(child.stdout).next()).value));
      assert.equal(ready.transport, "rdma");
      assert.deepEqual(ready.devices, ["fake_rdma0"]);
    } finally {
      child.kill("SIGTERM");
      await child.status;
    }
  },
);

systemTest(
  "spirit memserver --transport auto falls back to TCP and says why",
  FAKE_RDMA_PREREQS,
  async () => {
    await using fake = await useFakeRdmaInProcess();
    const child = new Deno.Command(Deno.execPath(), {
      args: [...MEMSERVER, "--transport", "auto"],
      env: { ...hostEnv(), ...fake.env, FAKE_RDMA_DEVICES: "0" },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const first = await lines(child.stdout).next();
      const ready = JSON.parse(String(first.value));
      assert.equal(ready.transport, "tcp");
      assert.match(ready.note, /RDMA unavailable \(no RDMA devices.*\); serving over TCP/);
    } finally {
      child.kill("SIGTERM");
      await child.status;
    }
  },
);

systemTest(
  "spirit memserver --transport rdma serves a client in another process and stops on SIGTERM",
  FAKE_RDMA_PREREQS,
  async () => {
    await using fake = await useFakeRdmaInProcess();
    const child = new Deno.Command(Deno.execPath(), {
      args: [...MEMSERVER, "--transport", "rdma", "--json-stats", "--stats-interval", "1h"],
      env: { ...hostEnv(), ...fake.env },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // The server's log, line by line: the connection is logged when the server handles the
    // ESTABLISHED event, which one-sided traffic does not wait for.
    const logged: string[] = [];
    const logDone = (async () => {
      for await (const line of lines(child.stderr)) logged.push(line);
    })();
    const out = lines(child.stdout);
    let transport: Awaited<ReturnType<typeof connectRdma>> | undefined;
    let exited = false;
    try {
      const ready = JSON.parse(String((await out.next()).value));
      assert.equal(ready.transport, "rdma");
      assert.deepEqual(ready.devices, ["fake_rdma0"]);
      transport = await connectRdma({ hostname: "127.0.0.1", port: ready.port });
      const region = await transport.allocate(5 * 1024 * 1024);
      const page = new Uint8Array(4096).map((_, i) => (i * 13) & 0xff);
      await transport.write(region, 12288, page);
      const back = new Uint8Array(4096);
      await transport.read(region, 12288, back);
      assert.deepEqual(back, page);
      for (let i = 0; i < 100 && !logged.some((l) => /client 1 connected/.test(l)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      child.kill("SIGTERM");
      const rest: unknown[] = [];
      for await (const line of out) rest.push(JSON.parse(line));
      const status = await child.status;
      exited = true;
      assert.equal(status.code, 0);
      const finalStats = rest.find((r) => (r as { event?: string }).event === "stats") as {
        disconnected: number;
        clients: unknown[];
        pool: { allocatedBytes: number };
      };
      assert.equal(finalStats.clients.length, 0);
      assert.equal(finalStats.disconnected, 1);
      assert.equal(finalStats.pool.allocatedBytes, 0);
      assert.deepEqual(rest.at(-1), { event: "stopped" });
      await assert.rejects(
        async () => {
          for (;;) await transport?.read(region, 0, back);
        },
        TransportClosedError,
      );
      await logDone;
      assert.match(logged.join("\n"), /client 1 connected: region 6291456 bytes/);
    } finally {
      await transport?.close();
      if (!exited) child.kill("SIGKILL");
      await child.status;
      await logDone;
    }
    assert.equal(fake.liveObjects(), 0);
  },
);
