/**
 * Far-memory enforcement through the agent core: limits go to the app over its control channel
 * and show up in its samples (the time it took is printed, not asserted: a wall-clock bound
 * fails on a loaded machine). Uses test/fixtures/fake_farmem_workload.ts, which
 * speaks the same contract as the real workloads.
 */
import assert from "node:assert/strict";
import { AgentCore } from "../agent/core.ts";
import type { AgentResponse, AppStatus, SamplesResult } from "../agent/protocol.ts";
import { readLines } from "../common/lines.ts";
import { waitFor } from "./fixtures/agent_harness.ts";
import { pathExists, type Prerequisite, systemTest } from "./prereq.ts";

const MiB = 2 ** 20;
const FAKE = new URL("./fixtures/fake_farmem_workload.ts", import.meta.url).pathname;

async function call(core: AgentCore, body: Record<string, unknown>): Promise<unknown> {
  const response: AgentResponse = await core.handleLine(JSON.stringify({ id: 1, ...body }));
  if (!response.ok) throw new Error(`${String(body.op)}: ${response.error.message}`);
  return response.result;
}

/** Launches the fake far-memory workload as app "fake" with `cacheBytes` and 20 MiB/s. */
async function launchFake(core: AgentCore, cacheBytes: number): Promise<AppStatus> {
  return (await call(core, {
    op: "launch",
    app: {
      appId: "fake",
      enforcement: "farmem",
      program: { kind: "argv", argv: [Deno.execPath(), "run", "-A", FAKE] },
      allocation: { cacheBytes, bandwidthBytesPerSec: 20 * MiB },
    },
  })) as AppStatus;
}

Deno.test("farmem app follows limit changes", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "spirit-agent-test-" });
  const core = new AgentCore({ stateDir });
  try {
    const status = await launchFake(core, 128 * MiB);
    assert.equal(status.state, "running");
    assert.equal(status.enforceable.cache.enforced, true);
    const first = (await core.sampleAll())[0];
    assert.equal(first?.residentBytes, 128 * MiB);
    await call(core, {
      op: "set-allocation",
      appId: "fake",
      allocation: { cacheBytes: 32 * MiB, bandwidthBytesPerSec: 5 * MiB },
    });
    const changedAt = performance.now();
    let previous = (await core.sampleAll())[0];
    const tookMs = await waitFor("samples at the new limits", async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const sample = (await core.sampleAll())[0];
      const rate = sample === undefined || previous === undefined
        ? Infinity
        : (sample.swapInBytes - previous.swapInBytes) / ((sample.timeMs - previous.timeMs) / 1000);
      previous = sample;
      return sample !== undefined && sample.residentBytes <= 32 * MiB && rate <= 5 * MiB * 1.1
        ? performance.now() - changedAt
        : undefined;
    }, { timeoutMs: 5000, intervalMs: 0 });
    console.log(`fake workload at new limits after ${tookMs.toFixed(0)} ms`);
    const { samples } = (await call(core, { op: "samples" })) as SamplesResult;
    const last = samples.at(-1);
    assert.equal(last?.throughputSource, "farmem");
    assert.equal(last?.mrc.available, true);
    await call(core, { op: "stop", appId: "fake" });
    assert.deepEqual(core.list(), []);
  } finally {
    await core.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("a collection with no new sample makes the agent sample now and tick mid-interval", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "spirit-agent-test-" });
  const intervalMs = 3000;
  const core = new AgentCore({ stateDir, sampleIntervalMs: intervalMs });
  const ticks: number[] = [];
  core.subscribe((event) => {
    if (event.event === "sample") ticks.push(event.sample.timeMs);
  });
  try {
    await launchFake(core, 32 * MiB);
    core.start();
    await waitFor("the timer's first sample", () => ticks.length >= 1 || undefined, {
      timeoutMs: 2 * intervalMs,
    });
    const { lastSeq } = (await call(core, { op: "samples" })) as SamplesResult;
    // Without `fresh` an agent with nothing newer answers with nothing.
    const plain = (await call(core, { op: "samples", sinceSeq: lastSeq })) as SamplesResult;
    assert.deepEqual(plain.samples, []);
    const fresh =
      (await call(core, { op: "samples", sinceSeq: lastSeq, fresh: true })) as SamplesResult;
    assert.equal(fresh.samples.length, 1);
    assert.ok((fresh.samples[0]?.seq ?? 0) > lastSeq);
    const freshAt = fresh.samples[0]?.timeMs ?? 0;
    // With a sample newer than the cursor, `fresh` takes none.
    const again =
      (await call(core, { op: "samples", sinceSeq: lastSeq, fresh: true })) as SamplesResult;
    assert.deepEqual(again.samples.map((s) => s.seq), fresh.samples.map((s) => s.seq));
    // The timer moved: its next tick is half an interval after the fresh sample, where it would
    // have been a whole interval after its previous tick (just before the request) otherwise.
    const next = await waitFor("the timer's next sample", () => ticks.find((t) => t > freshAt), {
      timeoutMs: 2 * intervalMs,
    });
    const afterMs = next - freshAt;
    console.log(`next timer sample ${afterMs} ms after the fresh one (interval ${intervalMs} ms)`);
    assert.ok(afterMs >= intervalMs / 4, `${afterMs} ms`);
    assert.ok(afterMs < intervalMs * 0.85, `${afterMs} ms: the timer was not moved`);
  } finally {
    await core.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

/** A `spirit memserver` child on loopback with a token file; `close()` stops it. */
async function startMemserver(dir: string) {
  const tokenFile = `${dir}/token`;
  await Deno.writeTextFile(tokenFile, crypto.randomUUID());
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../controller/cli.ts", import.meta.url).pathname,
      "memserver",
      "--listen",
      "127.0.0.1:0",
      "--capacity",
      "64MiB",
      "--token-file",
      tokenFile,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = readLines(child.stdout);
  const first = await lines.next();
  if (first.done) throw new Error("memserver exited before its ready line");
  const ready = JSON.parse(first.value) as { event: string; hostname: string; port: number };
  assert.equal(ready.event, "ready");
  return {
    address: `${ready.hostname}:${ready.port}`,
    tokenFile,
    close: async () => {
      child.kill("SIGTERM");
      for await (const _line of lines) { /* drain until the server exits */ }
      await child.status;
    },
  };
}

const workloadAvailable: Prerequisite = {
  name: "the spirit workload and memserver commands",
  available: () =>
    pathExists(new URL("../workloads/command.ts", import.meta.url).pathname).available() &&
    pathExists(new URL("../memserver/command.ts", import.meta.url).pathname).available(),
};

systemTest("farmem kv workload follows limit changes", [workloadAvailable], async () => {
  const dir = await Deno.makeTempDir({ prefix: "spirit-agent-farmem-" });
  const core = new AgentCore({ stateDir: dir });
  const memserver = await startMemserver(dir);
  try {
    const launched = await call(core, {
      op: "launch",
      app: {
        appId: "kv",
        enforcement: "farmem",
        program: {
          kind: "workload",
          workload: "kv",
          args: [
            "--memserver",
            memserver.address,
            "--token-file",
            memserver.tokenFile,
            "--dataset",
            "32MiB",
          ],
        },
        allocation: { cacheBytes: 16 * MiB, bandwidthBytesPerSec: 50e6 },
      },
    }) as AppStatus;
    // spirit's workloads are controlled over a Unix socket in the agent's state directory, not
    // their stdio; the socket's name is gone once the workload has connected.
    assert.ok(launched.pid !== null);
    const argv = (await Deno.readTextFile(`/proc/${launched.pid}/cmdline`)).split("\0");
    const control = argv[argv.indexOf("--control") + 1] ?? "";
    assert.match(control, new RegExp(`^unix:${dir}/ctl/[0-9]+-[0-9]+\\.sock$`));
    assert.deepEqual([...Deno.readDirSync(`${dir}/ctl`)], []);
    assert.equal(await Deno.readLink(`/proc/${launched.pid}/fd/0`), "/dev/null");
    await waitFor("the workload to fill its cache", async () => {
      const sample = (await core.sampleAll())[0];
      return sample !== undefined && sample.residentBytes > 12 * MiB ? true : undefined;
    }, { intervalMs: 100, timeoutMs: 20_000 });
    const limit = 2e6;
    await call(core, {
      op: "set-allocation",
      appId: "kv",
      allocation: { cacheBytes: 4 * MiB, bandwidthBytesPerSec: limit },
    });
    const changedAt = performance.now();
    let previous = (await core.sampleAll())[0];
    const tookMs = await waitFor("samples at the new limits", async () => {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const sample = (await core.sampleAll())[0];
      const rate = sample === undefined || previous === undefined
        ? Infinity
        : (sample.swapInBytes - previous.swapInBytes) / ((sample.timeMs - previous.timeMs) / 1000);
      previous = sample;
      return sample !== undefined && sample.residentBytes <= 4 * MiB && rate <= limit * 1.1
        ? performance.now() - changedAt
        : undefined;
    }, { timeoutMs: 5000, intervalMs: 0 });
    console.log(`kv workload at new limits after ${tookMs.toFixed(0)} ms`);
    const last = (await core.sampleAll())[0];
    assert.equal(last?.allocation.cacheBytes, 4 * MiB);
    assert.equal(last?.mrc.available, true);
  } finally {
    await core.close();
    await memserver.close();
    await Deno.remove(dir, { recursive: true });
  }
});
