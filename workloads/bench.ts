/**
 * `spirit bench memserver`: large sequential transfer rate, 4 KiB random reads (ops/s, p50, p99)
 * at queue depths 1 and 32, and the far-memory client's hit path (accesses/s, with and without
 * the SHARDS MRC). Starts its own server on loopback unless `--target` is given; compares with
 * iperf3 on loopback when iperf3 is installed.
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { parseDurationMs } from "../common/units.ts";
import { LocalTransport } from "../memserver/client/local_transport.ts";
import { PageCache } from "../memserver/client/page_cache.ts";
import { connectTcp } from "../memserver/client/tcp_transport.ts";
import {
  parseHostPort,
  type RemoteRegion,
  type RemoteTransport,
} from "../memserver/client/transport.ts";
import { readTokenFile } from "../common/token_file.ts";
import { MemoryPool } from "../memserver/pool.ts";
// The kv workload gives the MRC overhead a realistic amount of work per access.
import { KvWorkload } from "./kv.ts";
import { WorkloadRunner } from "./runner.ts";
import { spawnMemserver } from "../memserver/spawn.ts";

/** Figures of one random-read run. */
export interface RandomReadFigures {
  queueDepth: number;
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
}

/** Everything `spirit bench memserver` measures. */
export interface MemserverBenchResult {
  target: string;
  sequentialReadGBps: number;
  sequentialWriteGBps: number;
  randomReads: RandomReadFigures[];
  iperf3GBps: number | null;
  sequentialVsIperf3: number | null;
  hitPath: {
    mrcOffPerSec: number;
    mrcDefaultPerSec: number;
    mrcSampleRate: number;
    mrcOverhead: number;
  };
  /** kv gets and puts served from the cache (no remote traffic), MRC off and at the 1 % default. */
  kvAllHits: {
    mrcOffOpsPerSec: number;
    mrcDefaultOpsPerSec: number;
    mrcSampleRate: number;
    mrcOverhead: number;
  };
}

const REGION_BYTES = 64 << 20;

async function sequential(
  transport: RemoteTransport,
  region: RemoteRegion,
  options: { write: boolean; seconds: number },
): Promise<number> {
  const chunk = 1 << 20;
  const depth = 4;
  const buffers = Array.from({ length: depth }, () => new Uint8Array(chunk));
  let bytes = 0;
  const end = performance.now() + options.seconds * 1000;
  const start = performance.now();
  await Promise.all(buffers.map(async (buffer, lane) => {
    let offset = lane * chunk;
    while (performance.now() < end) {
      if (options.write) await transport.write(region, offset, buffer);
      else await transport.read(region, offset, buffer);
      bytes += chunk;
      offset = (offset + depth * chunk) % REGION_BYTES;
    }
  }));
  return bytes / ((performance.now() - start) / 1000) / 1e9;
}

async function randomReads(
  transport: RemoteTransport,
  region: RemoteRegion,
  options: { queueDepth: number; seconds: number },
): Promise<RandomReadFigures> {
  const pages = REGION_BYTES / 4096;
  const latencies: number[] = [];
  let seed = 12345;
  const end = performance.now() + options.seconds * 1000;
  const start = performance.now();
  await Promise.all(Array.from({ length: options.queueDepth }, async () => {
    const buffer = new Uint8Array(4096);
    while (performance.now() < end) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      const issued = performance.now();
      await transport.read(region, (seed % pages) * 4096, buffer);
      latencies.push(performance.now() - issued);
    }
  }));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 1000;
  return {
    queueDepth: options.queueDepth,
    opsPerSec: latencies.length / elapsed,
    p50Us: at(0.5),
    p99Us: at(0.99),
  };
}

interface HitPathSetup {
  cache: PageCache;
  order: Uint32Array;
}

async function hitPathSetup(
  pool: MemoryPool,
  mrcSampleRate: number | undefined,
): Promise<HitPathSetup> {
  const cachedPages = 16384;
  const cache = await PageCache.open(new LocalTransport(pool), {
    datasetBytes: pool.capacityBytes / 2,
    cacheBytes: cachedPages * 4096,
    bandwidthBytesPerSec: Number.POSITIVE_INFINITY,
    ...(mrcSampleRate === undefined ? {} : { mrcSampleRate }),
  });
  const stride = Math.max(1, Math.floor(cache.pages / cachedPages));
  const resident = Array.from({ length: cachedPages }, (_, i) => i * stride);
  for (const page of resident) await cache.access(page, false);
  const order = new Uint32Array(1 << 20);
  let seed = 99;
  for (let i = 0; i < order.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    order[i] = resident[seed % cachedPages] ?? 0;
  }
  return { cache, order };
}

/** Runs lookups over resident pages for `ms`; returns accesses per second. */
function hitPathRound(setup: HitPathSetup, ms: number): number {
  const { cache, order } = setup;
  let accesses = 0;
  let sink = 0;
  const start = performance.now();
  const end = start + ms;
  while (performance.now() < end) {
    for (let i = 0; i < order.length; i++) {
      const frame = cache.lookup(order[i] ?? 0, false);
      if (frame !== undefined) sink += frame.length;
    }
    accesses += order.length;
  }
  if (sink === 0) throw new Error("the hit path returned no pages");
  return accesses / ((performance.now() - start) / 1000);
}

/**
 * Accesses per second on the client's hit path (every page resident), without the MRC and with
 * it at the default rate for a 4 GiB dataset (1 %); rounds alternate and the best of each counts.
 */
async function hitPath(seconds: number): Promise<MemserverBenchResult["hitPath"]> {
  using pool = MemoryPool.reserve(8 * 2 ** 30);
  const off = await hitPathSetup(pool, 0);
  const on = await hitPathSetup(pool, undefined);
  try {
    const rounds = 6;
    let bestOff = 0;
    let bestOn = 0;
    for (let round = 0; round < rounds; round++) {
      bestOff = Math.max(bestOff, hitPathRound(off, (seconds * 1000) / rounds));
      bestOn = Math.max(bestOn, hitPathRound(on, (seconds * 1000) / rounds));
    }
    return {
      mrcOffPerSec: bestOff,
      mrcDefaultPerSec: bestOn,
      mrcSampleRate: on.cache.mrc?.sampleRate ?? 0,
      mrcOverhead: 1 - bestOn / bestOff,
    };
  } finally {
    await off.cache.close();
    await on.cache.close();
  }
}

/**
 * kv over a 64 MiB cache holding the whole dataset, MRC off and at 1 % (the default rate of
 * datasets above 800 MiB): the MRC's cost relative to real per-op work.
 */
async function kvAllHits(seconds: number): Promise<MemserverBenchResult["kvAllHits"]> {
  const datasetBytes = 64 << 20;
  using pool = MemoryPool.reserve(2 * datasetBytes);
  const runs: Array<{ runner: WorkloadRunner; cache: PageCache }> = [];
  for (const rate of [0, 0.01]) {
    const cache = await PageCache.open(new LocalTransport(pool), {
      datasetBytes,
      cacheBytes: datasetBytes,
      bandwidthBytesPerSec: Number.POSITIVE_INFINITY,
      mrcSampleRate: rate,
    });
    const workload = new KvWorkload({ firstPage: 0, pages: cache.pages }, cache.pageBytes);
    await workload.load(cache);
    const runner = new WorkloadRunner(cache, workload);
    for (let page = 0; page < cache.pages; page++) await cache.access(page, false); // all resident
    runs.push({ runner, cache });
  }
  try {
    // Alternating short rounds; the median of each side resists noise from other processes.
    const rounds = 8;
    const samples: number[][] = [[], []];
    for (let round = 0; round < rounds; round++) {
      for (const [i, run] of runs.entries()) {
        const result = await run.runner.run({ durationMs: (seconds * 1000) / rounds });
        samples[i]?.push(result.opsPerSec);
      }
    }
    const median = (values: number[] = []) => values.sort((a, b) => a - b)[values.length >> 1] ?? 0;
    const off = median(samples[0]);
    const on = median(samples[1]);
    return {
      mrcOffOpsPerSec: off,
      mrcDefaultOpsPerSec: on,
      mrcSampleRate: runs[1]?.cache.mrc?.sampleRate ?? 0,
      mrcOverhead: 1 - on / off,
    };
  } finally {
    for (const run of runs) await run.cache.close();
  }
}

async function iperf3(seconds: number): Promise<number | null> {
  const found = await new Deno.Command("sh", {
    args: ["-c", "command -v iperf3"],
    stdout: "null",
    stderr: "null",
  })
    .output();
  if (found.code !== 0) return null;
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const server = new Deno.Command("iperf3", {
    args: ["-s", "-1", "--forceflush", "-B", "127.0.0.1", "-p", String(port)],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const deadline = performance.now() + 5000;
    while (!text.includes("listening")) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - performance.now()));
      });
      const next = await Promise.race([reader.read(), timeout]);
      clearTimeout(timer);
      if (next === "timeout" || next.done) return null;
      text += next.value;
    }
    reader.releaseLock();
    const client = await new Deno.Command("iperf3", {
      args: [
        "-c",
        "127.0.0.1",
        "-p",
        String(port),
        "-t",
        String(Math.max(1, Math.round(seconds))),
        "-J",
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (client.code !== 0) return null;
    const report = JSON.parse(new TextDecoder().decode(client.stdout));
    const bitsPerSecond = report?.end?.sum_received?.bits_per_second;
    return typeof bitsPerSecond === "number" ? bitsPerSecond / 8 / 1e9 : null;
  } finally {
    killQuietly(server);
    await server.stdout.cancel().catch(() => {/* locked or already consumed */});
    await server.status;
  }
}

/** Sends SIGTERM unless the child has already exited. */
function killQuietly(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGTERM");
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}

/** Runs every measurement. */
export async function runMemserverBench(
  options: { target?: string; tokenFile?: string; seconds: number },
): Promise<MemserverBenchResult> {
  const token = options.tokenFile === undefined
    ? undefined
    : await readTokenFile(options.tokenFile);
  const own = options.target === undefined
    ? await spawnMemserver({ capacity: "256MiB" })
    : undefined;
  try {
    const address = own === undefined ? parseHostPort(options.target ?? "") : own;
    const transport = await connectTcp({
      hostname: address.hostname,
      port: address.port,
      ...(token === undefined ? {} : { token }),
    });
    let result: Omit<
      MemserverBenchResult,
      "iperf3GBps" | "sequentialVsIperf3" | "hitPath" | "kvAllHits"
    >;
    let iperf: number | null = null;
    try {
      const region = await transport.allocate(REGION_BYTES);
      await sequential(transport, region, { write: true, seconds: 0.3 });
      const sequentialWriteGBps = await sequential(transport, region, {
        write: true,
        seconds: options.seconds,
      });
      // Reads are measured on both sides of the iperf3 run (best of the two), so a change in
      // the machine's load between them skews the comparison less.
      const readBefore = await sequential(transport, region, {
        write: false,
        seconds: options.seconds,
      });
      iperf = own === undefined ? null : await iperf3(options.seconds);
      const readAfter = await sequential(transport, region, {
        write: false,
        seconds: options.seconds,
      });
      const sequentialReadGBps = Math.max(readBefore, readAfter);
      const figures: RandomReadFigures[] = [];
      for (const queueDepth of [1, 32]) {
        figures.push(
          await randomReads(transport, region, { queueDepth, seconds: options.seconds }),
        );
      }
      await transport.free(region);
      result = {
        target: `${address.hostname}:${address.port}`,
        sequentialReadGBps,
        sequentialWriteGBps,
        randomReads: figures,
      };
    } finally {
      await transport.close();
    }
    const hits = await hitPath(options.seconds);
    const kv = await kvAllHits(options.seconds);
    return {
      ...result,
      iperf3GBps: iperf,
      sequentialVsIperf3: iperf === null ? null : result.sequentialReadGBps / iperf,
      hitPath: hits,
      kvAllHits: kv,
    };
  } finally {
    await own?.stop();
  }
}

function printHuman(result: MemserverBenchResult): void {
  const lines = [
    `memory server ${result.target} (TCP)`,
    `  sequential 1 MiB transfers: read ${result.sequentialReadGBps.toFixed(2)} GB/s, write ${
      result.sequentialWriteGBps.toFixed(2)
    } GB/s`,
    result.iperf3GBps === null
      ? "  iperf3 on loopback: not measured (iperf3 not installed or --target given)"
      : `  iperf3 on loopback: ${result.iperf3GBps.toFixed(2)} GB/s; sequential read is ${
        ((result.sequentialVsIperf3 ?? 0) * 100).toFixed(0)
      } % of it (target >= 50 %)`,
    ...result.randomReads.map((r) =>
      `  4 KiB random reads, depth ${r.queueDepth}: ${r.opsPerSec.toFixed(0)} ops/s, p50 ${
        r.p50Us.toFixed(0)
      } us, p99 ${r.p99Us.toFixed(0)} us${r.queueDepth === 32 ? " (target >= 100k ops/s)" : ""}`
    ),
    `  client hit path: ${
      (result.hitPath.mrcOffPerSec / 1e6).toFixed(1)
    } M accesses/s without MRC, ${
      (result.hitPath.mrcDefaultPerSec / 1e6).toFixed(1)
    } M/s with SHARDS at rate ${result.hitPath.mrcSampleRate} (overhead ${
      (result.hitPath.mrcOverhead * 100).toFixed(1)
    } %; target >= 5 M/s)`,
    `  kv served from cache: ${
      (result.kvAllHits.mrcOffOpsPerSec / 1e6).toFixed(2)
    } M ops/s without MRC, ${
      (result.kvAllHits.mrcDefaultOpsPerSec / 1e6).toFixed(2)
    } M ops/s with SHARDS at rate ${result.kvAllHits.mrcSampleRate} (overhead ${
      (result.kvAllHits.mrcOverhead * 100).toFixed(1)
    } %; target <= 5 %)`,
  ];
  console.log(lines.join("\n"));
}

/** Builds `spirit bench memserver`. */
export function memserverBenchCommand() {
  return new Command("memserver")
    .description("Memory server and far-memory client throughput and latency")
    .option("--json", "print one JSON document")
    .option("--target <host:port>", "measure a running server instead of starting one on loopback")
    .option("--token-file <path>", "the target's shared secret")
    .option("--duration <duration>", "length of each measurement", "2s")
    .action(async (options) => {
      let seconds: number;
      try {
        seconds = parseDurationMs(options.duration) / 1000;
        if (options.target !== undefined) parseHostPort(options.target);
      } catch (error) {
        console.error(
          `spirit bench memserver: ${error instanceof Error ? error.message : String(error)}`,
        );
        Deno.exit(2);
      }
      const result = await runMemserverBench({
        seconds,
        ...(options.target === undefined ? {} : { target: options.target }),
        ...(options.tokenFile === undefined ? {} : { tokenFile: options.tokenFile }),
      });
      if (options.json) console.log(JSON.stringify(result));
      else printHuman(result);
    });
}

if (import.meta.main) {
  await memserverBenchCommand().parseAsync(Deno.args, { from: "user" });
}
