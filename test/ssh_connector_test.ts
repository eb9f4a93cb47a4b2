/**
 * System test: the OpenSSH connector against two hosts in network namespaces, each with its
 * own sshd (test/fixtures/netns_hosts.ts).
 * @module
 */
import assert from "node:assert/strict";
import { closeAll, onHosts } from "../controller/connectors/connect.ts";
import { RemoteCommandError, SshConnectionError } from "../controller/connectors/errors.ts";
import { Limiter } from "../controller/connectors/limit.ts";
import { SshConnector } from "../controller/connectors/ssh.ts";
import { terminateMaster } from "../controller/connectors/ssh_mux.ts";
import { waitFor } from "./fixtures/agent_harness.ts";
import { HOSTILE_ARGV } from "./fixtures/hostile_argv.ts";
import { createNetnsHosts } from "./fixtures/netns_hosts.ts";
import { commandOnPath, ROOT, systemTest } from "./prereq.ts";

/** Live ssh master connections by pid: a master names itself `ssh: CONTROL_PATH [mux]`. */
async function sshMasters(): Promise<Map<number, string>> {
  const masters = new Map<number, string>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry.name)) continue;
    const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
    const path = /^ssh: (.*) \[mux\]/.exec(cmdline)?.[1];
    if (path !== undefined) masters.set(Number(entry.name), path);
  }
  return masters;
}

const PREREQS = [ROOT, commandOnPath("sshd"), commandOnPath("ssh"), commandOnPath("ip")];

systemTest("ssh connector runs commands on namespaced hosts over real SSH", PREREQS, async (t) => {
  await using net = await createNetnsHosts(2, { rateLimits: { 1: "200Mbps" } });
  const connectors = net.hosts.map((h) => new SshConnector(h.name, h.ssh));
  try {
    await t.step("runs a command on both hosts in parallel", async () => {
      const outcomes = await onHosts(
        connectors,
        (c) => c.exec(["ip", "-o", "-4", "addr", "show", "eth0"]),
      );
      assert.deepEqual(outcomes.map((o) => o.ok), [true, true]);
      outcomes.forEach((o, i) => {
        assert.ok(o.ok);
        assert.match(
          o.value.stdout,
          new RegExp(` ${net.hosts[i]?.address.replaceAll(".", "\\.")}/24 `),
        );
      });
    });

    await t.step("with a shared limiter of 1, works on one host at a time", async () => {
      const limiter = new Limiter(1);
      const limited = net.hosts.map((h) => new SshConnector(h.name, h.ssh, { limiter }));
      try {
        const outcomes = await onHosts(
          limited,
          (c) => c.exec(["sh", "-c", "date +%s%N; sleep 0.3; date +%s%N"]),
        );
        const spans = outcomes.map((o) => {
          assert.ok(o.ok);
          return o.value.stdout.trim().split("\n").map(BigInt) as [bigint, bigint];
        }).sort((a, b) => (a[0] < b[0] ? -1 : 1));
        const [first, second] = spans;
        assert.ok(first !== undefined && second !== undefined);
        assert.ok(second[0] >= first[1], "the second command started after the first ended");
        assert.equal(limiter.active, 0);
      } finally {
        await closeAll(limited);
      }
    });

    await t.step("passes hostile argv through the remote shell unchanged", async () => {
      const c = connectors[0];
      assert.ok(c);
      const result = await c.exec(["printf", "%s\\0", ...HOSTILE_ARGV]);
      assert.deepEqual(result.stdout.split("\0").slice(0, -1), [...HOSTILE_ARGV]);
    });

    await t.step("reports host, argv, exit code and stderr tail of a failing command", async () => {
      const c = connectors[1];
      assert.ok(c);
      const argv = ["sh", "-c", "echo 'no such thing' >&2; exit 7"];
      await assert.rejects(c.exec(argv), (e) => {
        assert.ok(e instanceof RemoteCommandError);
        assert.deepEqual([e.host, e.argv, e.code, e.stderrTail], ["h1", argv, 7, "no such thing"]);
        return true;
      });
    });

    await t.step("feeds stdin and sets cwd and env", async () => {
      const c = connectors[0];
      assert.ok(c);
      const result = await c.exec(["sh", "-c", 'echo "$PWD $SPIRIT_X"; cat'], {
        stdin: "from stdin\n",
        cwd: "/tmp",
        env: { SPIRIT_X: "it's ok" },
      });
      assert.equal(result.stdout, "/tmp it's ok\nfrom stdin\n");
    });

    await t.step("puts and gets a file round-trip with its mode", async () => {
      const c = connectors[1];
      assert.ok(c);
      const local = await Deno.makeTempFile({ prefix: "spirit_put_" });
      const back = `${local}.back`;
      const remote = `/tmp/${net.prefix}/dir with space/payload's.bin`;
      try {
        const payload = new Uint8Array(300_000).map((_, i) => (i * 7919 + (i >> 8)) & 0xff);
        await Deno.writeFile(local, payload);
        await c.put(local, remote, { mode: 0o640 });
        assert.equal((await c.exec(["stat", "-c", "%a %s", remote])).stdout, "640 300000\n");
        await c.get(remote, back);
        assert.deepEqual(await Deno.readFile(back), payload);
      } finally {
        await c.exec(["rm", "-rf", `/tmp/${net.prefix}`]);
        await Deno.remove(local);
        await Deno.remove(back).catch((e) => {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        });
      }
    });

    await t.step("talks JSON lines with a long-lived remote process over stdio", async () => {
      const c = connectors[1];
      assert.ok(c);
      const proc = await c.spawn([
        "sh",
        "-c",
        'while read -r line; do printf \'{"echo":%s}\\n\' "$line"; done',
      ]);
      const writer = proc.stdin.getWriter();
      const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
      for (const id of [1, 2, 3]) {
        await writer.write(new TextEncoder().encode(`{"id":${id}}\n`));
        assert.deepEqual(JSON.parse((await reader.read()).value ?? ""), { echo: { id } });
      }
      await writer.close();
      assert.equal((await reader.read()).done, true);
      await proc.stderr.cancel();
      assert.equal((await proc.status).code, 0);
    });

    await t.step("kills a long-lived remote process on its host", async () => {
      const c = connectors[0];
      assert.ok(c);
      const proc = await c.spawn(["sh", "-c", 'echo "$$"; exec sleep 60']);
      const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const pid = (await reader.read()).value?.trim() ?? "";
      assert.match(pid, /^[0-9]+$/);
      assert.equal((await c.exec(["kill", "-0", pid], { check: false })).code, 0);
      await proc.kill();
      assert.equal((await reader.read()).done, true);
      await proc.stderr.cancel();
      await proc.stdin.close();
      await proc.status;
      assert.notEqual((await c.exec(["kill", "-0", pid], { check: false })).code, 0);
    });

    await t.step("limits the rate of a host's link with tbf", async () => {
      const c = connectors[1];
      assert.ok(c);
      assert.match(
        (await c.exec(["tc", "qdisc", "show", "dev", "eth0"])).stdout,
        /tbf .*rate 200Mbit/,
      );
    });

    await t.step(
      "a master told to exit over its socket exits; close removes its directory",
      async () => {
        const host = net.hosts[1];
        assert.ok(host);
        const before = await sshMasters();
        const c = new SshConnector(host.name, host.ssh);
        await c.exec(["true"]);
        const started = [...(await sshMasters())].filter(([pid]) => !before.has(pid));
        assert.equal(started.length, 1, "one master connection for the connector");
        const [[pid, socket] = [0, ""]] = started;
        // What close() does first, against the real OpenSSH master.
        assert.equal(await terminateMaster(socket), true);
        await waitFor(
          "the master to exit",
          async () => !(await sshMasters()).has(pid) || undefined,
          {
            timeoutMs: 5000,
          },
        );
        assert.equal(await terminateMaster(socket), false, "nobody listens any more");
        const dir = socket.slice(0, socket.lastIndexOf("/"));
        await c.close();
        await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
        await assert.rejects(c.exec(["true"]), /closed/);
      },
    );

    await t.step("fails fast on an unknown host key", async () => {
      const host = net.hosts[0];
      assert.ok(host);
      const empty = `${net.dir}/empty_known_hosts`;
      await Deno.writeTextFile(empty, "");
      await using c = new SshConnector("stranger", { ...host.ssh, knownHostsFile: empty });
      await assert.rejects(c.exec(["true"]), (e) => {
        assert.ok(e instanceof SshConnectionError);
        assert.equal(e.transient, false);
        assert.equal(e.attempts, 1);
        assert.match(e.message, /Host key verification failed[^]*hint/);
        return true;
      });
    });

    await t.step("retries then reports an address nobody listens on", async () => {
      const host = net.hosts[0];
      assert.ok(host);
      await using c = new SshConnector("down", { ...host.ssh, port: 2 }, {
        attempts: 2,
        backoffMs: 10,
      });
      await assert.rejects(c.exec(["true"]), (e) => {
        assert.ok(e instanceof SshConnectionError);
        assert.equal(e.attempts, 2);
        assert.match(e.stderrTail, /Connection refused/);
        return true;
      });
      // The first attempt was retried: it is on record, named by what ssh printed.
      assert.equal(c.failedAttempts.length, 1);
      assert.match(c.failedAttempts[0] ?? "", /Connection refused/);
    });
  } finally {
    await closeAll(connectors);
  }
});

/** A Unix socket server on this machine (the namespaced hosts share its filesystem). */
async function lineEcho(): Promise<{ path: string; close(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "spirit-echo-" });
  const path = `${dir}/echo.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const served = (async () => {
    for await (const conn of listener) {
      await conn.write(new TextEncoder().encode("hello\n"));
      await conn.readable.pipeTo(conn.writable).catch(() => undefined);
    }
  })();
  return {
    path,
    async close() {
      listener.close();
      await served.catch(() => undefined);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function readSome(conn: Deno.Conn): Promise<string | null> {
  const buffer = new Uint8Array(64);
  const n = await conn.read(buffer);
  return n === null ? null : new TextDecoder().decode(buffer.subarray(0, n));
}

systemTest(
  "ssh connector reaches a Unix socket on the host through its master",
  PREREQS,
  async () => {
    await using net = await createNetnsHosts(1);
    const host = net.hosts[0];
    assert.ok(host);
    const controlDir = await Deno.makeTempDir({ prefix: "spirit-ssh-test-" });
    const connector = new SshConnector(host.name, host.ssh, { controlDir });
    const echo = await lineEcho();
    try {
      const conn = await connector.connectUnixSocket(echo.path);
      assert.equal(await readSome(conn), "hello\n");
      await conn.write(new TextEncoder().encode("ping\n"));
      assert.equal(await readSome(conn), "ping\n");
      // The forward's listening socket is gone at once; only the master's control socket stays.
      const left = [...Deno.readDirSync(controlDir)].map((e) => e.name);
      assert.equal(left.filter((name) => name.startsWith("fwd-")).length, 0, left.join(", "));
      conn.close();
    } finally {
      await connector.close();
      await echo.close();
      await Deno.remove(controlDir, { recursive: true });
    }
  },
);

systemTest(
  "an sshd that refuses socket forwarding ends the connection at once",
  PREREQS,
  async () => {
    await using net = await createNetnsHosts(1, { sshdConfig: ["AllowStreamLocalForwarding no"] });
    const host = net.hosts[0];
    assert.ok(host);
    const connector = new SshConnector(host.name, host.ssh);
    const echo = await lineEcho();
    try {
      const conn = await connector.connectUnixSocket(echo.path);
      assert.equal(await readSome(conn), null, "sshd forwarded the socket although it may not");
      conn.close();
      // The connection itself still works for commands.
      assert.equal((await connector.exec(["echo", "still here"])).stdout, "still here\n");
    } finally {
      await connector.close();
      await echo.close();
    }
  },
);
