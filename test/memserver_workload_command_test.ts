/**
 * System tests of `spirit workload` as a process: the `--json` document, and the far-memory
 * control channel on stdio (common/farmem_control.ts) that the agent drives.
 */
import assert from "node:assert/strict";
import type { FarmemReady, FarmemResponse } from "../common/farmem_control.ts";
import { makeTokenFile, type MemserverChild, startMemserver } from "./memserver_fixture.ts";

const MAIN = new URL("../workloads/main.ts", import.meta.url).pathname;

async function withServer(fn: (server: MemserverChild, tokenFile: string) => Promise<void>) {
  const secret = await makeTokenFile();
  const server = await startMemserver({ tokenFile: secret.path, capacity: "64MiB" });
  try {
    await fn(server, secret.path);
  } finally {
    await server.stop();
    await Deno.remove(secret.dir, { recursive: true });
  }
}

Deno.test("workload --json prints exactly one JSON document with the required figures", async () => {
  await withServer(async (server, tokenFile) => {
    for (const kind of ["kv", "stream", "phased"]) {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          MAIN,
          kind,
          "--memserver",
          `${server.hostname}:${server.port}`,
          "--token-file",
          tokenFile,
          "--cache",
          "2MiB",
          "--bandwidth",
          "80Mbps",
          "--duration",
          "1s",
          "--dataset",
          "8MiB",
          "--schedule",
          "kv:300ms,stream:300ms",
          "--json",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, stderr);
      const text = new TextDecoder().decode(output.stdout).trim();
      assert.equal(text.split("\n").length, 1, `${kind}: one line expected, got ${text}`);
      const result = JSON.parse(text);
      for (
        const key of [
          "opsPerSec",
          "hitRatio",
          "remoteReadBytes",
          "remoteWriteBytes",
          "remoteBytesPerSec",
        ]
      ) {
        assert.equal(typeof result[key], "number", `${kind}: ${key}`);
      }
      assert.ok(result.opsPerSec > 0, `${kind}: no progress`);
      assert.ok(Array.isArray(result.mrc) && result.mrc.length > 0, `${kind}: no MRC`);
      assert.ok(result.mrc.every((p: unknown) => Array.isArray(p) && p.length === 2));
    }
  });
});

Deno.test("workload exits with status 2 on an invalid option", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "kv",
      "--memserver",
      "127.0.0.1:1",
      "--cache",
      "lots",
      "--bandwidth",
      "1Gbps",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 2);
  assert.match(new TextDecoder().decode(output.stderr), /--cache/);
});

Deno.test("workload control channel answers set-limits, sample and stop one line each", async () => {
  await withServer(async (server, tokenFile) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        "kv",
        "--memserver",
        `${server.hostname}:${server.port}`,
        "--token-file",
        tokenFile,
        "--cache",
        "1MiB",
        "--bandwidth",
        "40Mbps",
        "--dataset",
        "8MiB",
        "--control",
        "stdio",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const writer = child.stdin.getWriter();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    const nextLine = async (): Promise<string> => {
      while (!buffered.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the workload closed stdout");
        buffered += value;
      }
      const at = buffered.indexOf("\n");
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      return line;
    };
    const request = async (body: Record<string, unknown>): Promise<FarmemResponse> => {
      await writer.write(new TextEncoder().encode(JSON.stringify(body) + "\n"));
      return JSON.parse(await nextLine()) as FarmemResponse;
    };
    try {
      const ready = JSON.parse(await nextLine()) as FarmemReady;
      assert.equal(ready.event, "ready");
      assert.equal(ready.workload, "kv");
      const first = await request({ id: 1, op: "sample" });
      assert.ok(first.ok && first.sample !== undefined);
      assert.equal(first.id, 1);
      const limits = await request({
        id: 2,
        op: "set-limits",
        cacheBytes: 4 << 20,
        bandwidthBytesPerSec: 2e6,
      });
      assert.deepEqual(limits, { id: 2, ok: true });
      const bad = await request({
        id: 3,
        op: "set-limits",
        cacheBytes: -1,
        bandwidthBytesPerSec: 1,
      });
      assert.equal(bad.ok, false);
      assert.equal(bad.id, 3);
      const second = await request({ id: 4, op: "sample" });
      assert.ok(second.ok && second.sample !== undefined);
      assert.equal(second.sample.cacheBytes, 4 << 20);
      assert.equal(second.sample.bandwidthBytesPerSec, 2e6);
      assert.ok(second.sample.residentBytes <= 4 << 20);
      assert.ok(second.sample.accesses >= first.sample.accesses);
      const stop = await request({ id: 5, op: "stop" });
      assert.equal(stop.ok, true);
      assert.equal(stop.id, 5);
      const status = await child.status;
      assert.equal(status.code, 0, "the workload exits after stop even with stdin still open");
      await writer.close().catch(() => {/* the child is gone */});
    } finally {
      await reader.cancel().catch(() => {/* already closed */});
      killIfRunning(child);
      await child.status;
    }
  });
});

/** Kills a child unless it has already exited. */
function killIfRunning(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}
