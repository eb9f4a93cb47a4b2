/**
 * System tests of the far-memory client and the synthetic workloads against a real memory
 * server: cache and bandwidth sensitivity, the bandwidth limit over every one-second window,
 * and the SHARDS miss-ratio curve's prediction of hit ratios at other cache sizes.
 * Runs are short (1-3 s) and assertions compare ratios with margins, so a loaded machine slows
 * everything alike without breaking them.
 */
import assert from "node:assert/strict";
import { KvWorkload } from "../workloads/kv.ts";
import { type WorkloadResult, WorkloadRunner } from "../workloads/runner.ts";
import { StreamWorkload } from "../workloads/stream.ts";
import { PageCache } from "../memserver/client/page_cache.ts";
import { connectTcp } from "../memserver/client/tcp_transport.ts";
import { makeTokenFile, type MemserverChild, startMemserver } from "./memserver_fixture.ts";

const MiB = 1 << 20;

async function withServer(fn: (server: MemserverChild, token: Uint8Array) => Promise<void>) {
  const secret = await makeTokenFile();
  const server = await startMemserver({ tokenFile: secret.path, capacity: "128MiB" });
  try {
    await fn(server, secret.token);
  } finally {
    await server.stop();
    await Deno.remove(secret.dir, { recursive: true });
  }
}

interface RunSpec {
  kind: "kv" | "stream";
  datasetBytes: number;
  cacheBytes: number;
  bandwidthBytesPerSec: number;
  durationMs: number;
  warmupMs?: number;
  onTransfer?: (bytes: number) => void;
}

async function run(
  server: MemserverChild,
  token: Uint8Array,
  spec: RunSpec,
): Promise<WorkloadResult> {
  const transport = await connectTcp({ hostname: server.hostname, port: server.port, token });
  try {
    const cache = await PageCache.open(transport, {
      datasetBytes: spec.datasetBytes,
      cacheBytes: spec.cacheBytes,
      bandwidthBytesPerSec: spec.bandwidthBytesPerSec,
      prefetch: spec.kind === "stream",
      ...(spec.onTransfer === undefined ? {} : { onTransfer: spec.onTransfer }),
    });
    try {
      const range = { firstPage: 0, pages: cache.pages };
      const workload = spec.kind === "kv"
        ? new KvWorkload(range, cache.pageBytes)
        : new StreamWorkload(range);
      await workload.load(cache);
      return await new WorkloadRunner(cache, workload).run({
        durationMs: spec.durationMs,
        warmupMs: spec.warmupMs ?? 0,
      });
    } finally {
      await cache.close();
    }
  } finally {
    await transport.close();
  }
}

/** Linear interpolation of an MRC at `cacheBytes`. */
function missRatioAt(mrc: Array<[number, number]>, cacheBytes: number): number {
  let previous: [number, number] = [0, 1];
  for (const point of mrc) {
    if (point[0] >= cacheBytes) {
      const span = point[0] - previous[0];
      const t = span > 0 ? (cacheBytes - previous[0]) / span : 1;
      return previous[1] + t * (point[1] - previous[1]);
    }
    previous = point;
  }
  return previous[1];
}

const KV = { kind: "kv", datasetBytes: 16 * MiB, bandwidthBytesPerSec: 100e6 } as const;

Deno.test("kv throughput and hit ratio rise with cache", async () => {
  await withServer(async (server, token) => {
    const small = await run(server, token, {
      ...KV,
      cacheBytes: 1 * MiB,
      durationMs: 1500,
      warmupMs: 500,
    });
    const large = await run(server, token, {
      ...KV,
      cacheBytes: 8 * MiB,
      durationMs: 1500,
      warmupMs: 500,
    });
    assert.ok(
      large.hitRatio > small.hitRatio + 0.15,
      `hit ratio ${small.hitRatio} -> ${large.hitRatio}`,
    );
    assert.ok(
      large.opsPerSec > 1.3 * small.opsPerSec,
      `ops/s ${small.opsPerSec} -> ${large.opsPerSec}`,
    );
  });
});

Deno.test("kv miss-ratio curve at one cache size predicts the hit ratio at another within 0.05", async () => {
  await withServer(async (server, token) => {
    const spec = { ...KV, durationMs: 2000, warmupMs: 1000 };
    const atTwo = await run(server, token, { ...spec, cacheBytes: 2 * MiB });
    const atEight = await run(server, token, { ...spec, cacheBytes: 8 * MiB });
    const predictedAtEight = 1 - missRatioAt(atTwo.mrc, 8 * MiB);
    const predictedAtTwo = 1 - missRatioAt(atEight.mrc, 2 * MiB);
    assert.ok(
      Math.abs(predictedAtEight - atEight.hitRatio) <= 0.05,
      `predicted ${predictedAtEight.toFixed(3)} at 8 MiB, measured ${atEight.hitRatio.toFixed(3)}`,
    );
    assert.ok(
      Math.abs(predictedAtTwo - atTwo.hitRatio) <= 0.05,
      `predicted ${predictedAtTwo.toFixed(3)} at 2 MiB, measured ${atTwo.hitRatio.toFixed(3)}`,
    );
  });
});

const STREAM = {
  kind: "stream",
  datasetBytes: 24 * MiB,
  durationMs: 1500,
  warmupMs: 1000,
} as const;

Deno.test("stream throughput grows in proportion to bandwidth", async () => {
  await withServer(async (server, token) => {
    const slow = await run(server, token, {
      ...STREAM,
      cacheBytes: 1 * MiB,
      bandwidthBytesPerSec: 4e6,
    });
    const fast = await run(server, token, {
      ...STREAM,
      cacheBytes: 1 * MiB,
      bandwidthBytesPerSec: 8e6,
    });
    const ratio = fast.opsPerSec / slow.opsPerSec;
    assert.ok(
      ratio > 1.6 && ratio < 2.4,
      `doubling bandwidth changed ops/s by x${ratio.toFixed(2)}`,
    );
  });
});

Deno.test("stream throughput does not grow with cache", async () => {
  await withServer(async (server, token) => {
    const small = await run(server, token, {
      ...STREAM,
      cacheBytes: 1 * MiB,
      bandwidthBytesPerSec: 4e6,
    });
    const large = await run(server, token, {
      ...STREAM,
      cacheBytes: 4 * MiB,
      bandwidthBytesPerSec: 4e6,
    });
    const ratio = large.opsPerSec / small.opsPerSec;
    assert.ok(
      ratio > 0.8 && ratio < 1.2,
      `four times the cache changed ops/s by x${ratio.toFixed(2)}`,
    );
  });
});

Deno.test("remote bytes never exceed the bandwidth limit by 5 % in any one-second window", async () => {
  await withServer(async (server, token) => {
    const rate = 6e6;
    const events: Array<{ atMs: number; bytes: number }> = [];
    for (const kind of ["stream", "kv"] as const) {
      events.length = 0;
      await run(server, token, {
        kind,
        datasetBytes: 24 * MiB,
        cacheBytes: 2 * MiB,
        bandwidthBytesPerSec: rate,
        durationMs: 2500,
        onTransfer: (bytes) => events.push({ atMs: performance.now(), bytes }),
      });
      assert.ok(events.length > 100, `${kind}: only ${events.length} transfers`);
      let worst = 0;
      let end = 0;
      let sum = 0;
      for (let start = 0; start < events.length; start++) {
        const from = events[start]?.atMs ?? 0;
        while (end < events.length && (events[end]?.atMs ?? 0) < from + 1000) {
          sum += events[end++]?.bytes ?? 0;
        }
        worst = Math.max(worst, sum);
        sum -= events[start]?.bytes ?? 0;
      }
      const total = events.reduce((s, e) => s + e.bytes, 0);
      assert.ok(
        worst <= 1.05 * rate,
        `${kind}: ${worst} bytes in one second at a limit of ${rate}`,
      );
      assert.ok(
        total > 2 * rate,
        `${kind}: the run should have been limited, moved only ${total} bytes`,
      );
    }
  });
});
