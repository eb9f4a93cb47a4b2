/**
 * `spirit workload kv|stream|phased`: runs one synthetic far-memory application against a memory
 * server and prints its figures (`--json`: exactly one JSON document), or serves the agent's
 * control channel on stdio (`--control stdio`) or on a Unix socket the agent listens on
 * (`--control unix:PATH`: the workload connects; Deno reads stdin on a blocking thread, and a
 * socket costs about half the CPU per request).
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import type { FarmemReady } from "../common/farmem_control.ts";
import {
  formatBytes,
  formatRate,
  parseDurationMs,
  parseRateBytesPerSec,
  parseSizeBytes,
} from "../common/units.ts";
import { connectTransport, type TransportKind } from "../memserver/client/connect.ts";
import { PageCache } from "../memserver/client/page_cache.ts";
import { parseHostPort } from "../memserver/client/transport.ts";
import { readTokenFile } from "../common/token_file.ts";
import { readerLines, writeAll } from "../common/lines.ts";
import { serveControl } from "./control.ts";
import { KvWorkload } from "./kv.ts";
import { parseSchedule, PhasedWorkload } from "./phased.ts";
import { type WorkloadResult, WorkloadRunner } from "./runner.ts";
import { StreamWorkload } from "./stream.ts";
import type { Workload } from "./workload.ts";

const KINDS = ["kv", "stream", "phased"] as const;
type Kind = (typeof KINDS)[number];

function usage(message: string): never {
  console.error(`spirit workload: ${message}`);
  Deno.exit(2);
}

function parsed<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    return usage(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function ratio(text: string, what: string): number {
  const value = Number(text);
  if (!(value >= 0 && value <= 1)) usage(`${what} ${text} must be a number from 0 to 1`);
  return value;
}

/** Builds `spirit workload`. */
export function workloadCommand() {
  return new Command("workload")
    .description("Run a synthetic far-memory application (kv, stream or phased)")
    .addArgument(new Command().createArgument("<kind>", "kv, stream or phased").choices(KINDS))
    .requiredOption("--memserver <host:port>", "memory server address")
    .option("--token-file <path>", "file holding the memory server's shared secret")
    .addOption(
      new Option(
        "--transport <kind>",
        "how to reach the memory server (auto: RDMA when it offers it, else TCP)",
      ).choices(["tcp", "rdma", "auto"] as const).default("auto" as const),
    )
    .requiredOption("--cache <size>", "local cache size, e.g. 64MiB")
    .requiredOption("--bandwidth <rate>", "remote bandwidth, e.g. 800Mbps or 100MB/s")
    .option("--duration <duration>", "how long to run (required without --control)")
    .option("--dataset <size>", "remote dataset size", "256MiB")
    .option(
      "--warmup <duration>",
      "run this long before measuring (counters and MRC restart)",
      "0s",
    )
    .option(
      "--control <channel>",
      "serve the agent's control channel: stdio, or unix:PATH (connect to the agent's socket)",
    )
    .option("--json", "print exactly one JSON document with the results")
    .option("--seed <n>", "random seed", "1")
    .option("--value-size <size>", "kv: bytes per value", "256")
    .option("--skew <theta>", "kv: zipf skew of key popularity", "0.99")
    .option("--read-ratio <r>", "kv: share of reads (0..1)", "0.95")
    .option("--concurrency <n>", "kv: requests in flight at once", "4")
    .option("--schedule <phases>", "phased: phases in a loop", "kv:10s,stream:10s")
    .option("--prefetch", "sequential prefetch (default: on for stream and phased)")
    .option("--no-prefetch", "disable sequential prefetch")
    .option(
      "--mrc-rate <r>",
      "SHARDS sampling rate (0 disables the MRC; default adapts to the dataset)",
    )
    .action(async (kind, options) => {
      const address = parsed("--memserver", () => parseHostPort(options.memserver));
      const cacheBytes = parsed("--cache", () => parseSizeBytes(options.cache));
      const bandwidthBytesPerSec = parsed(
        "--bandwidth",
        () => parseRateBytesPerSec(options.bandwidth),
      );
      if (bandwidthBytesPerSec <= 0) usage("--bandwidth must be greater than 0");
      const datasetBytes = parsed("--dataset", () => parseSizeBytes(options.dataset));
      const warmupMs = parsed("--warmup", () => parseDurationMs(options.warmup));
      const channel = options.control === undefined
        ? null
        : parsed("--control", () => parseControlChannel(options.control ?? ""));
      const control = channel !== null;
      if (options.duration === undefined && !control) {
        usage("--duration is required without --control");
      }
      const durationMs = options.duration === undefined
        ? Number.POSITIVE_INFINITY
        : parsed("--duration", () => parseDurationMs(options.duration ?? "0"));
      const schedule = parsed("--schedule", () => parseSchedule(options.schedule));
      const valueBytes = parsed("--value-size", () => parseSizeBytes(options.valueSize));
      const skew = Number(options.skew);
      if (!(skew >= 0 && skew < 10)) usage(`--skew ${options.skew} must be a number from 0 to 10`);
      const readRatio = ratio(options.readRatio, "--read-ratio");
      const concurrency = Number(options.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1) {
        usage(`--concurrency ${options.concurrency} must be a positive integer`);
      }
      const seed = Number(options.seed);
      if (!Number.isInteger(seed)) usage(`--seed ${options.seed} must be an integer`);
      const mrcRate = options.mrcRate === undefined
        ? undefined
        : ratio(options.mrcRate, "--mrc-rate");
      const prefetch = typeof options.prefetch === "boolean" ? options.prefetch : kind !== "kv";
      const token = options.tokenFile === undefined
        ? undefined
        : await readTokenFile(options.tokenFile);

      let result: WorkloadResult;
      try {
        result = await runWorkloadProcess({
          kind,
          endpoint: { ...address, ...(token === undefined ? {} : { token }) },
          transport: options.transport,
          cacheBytes,
          bandwidthBytesPerSec,
          datasetBytes,
          durationMs,
          warmupMs,
          control: channel,
          prefetch,
          ...(mrcRate === undefined ? {} : { mrcSampleRate: mrcRate }),
          makeWorkload: (pages, pageBytes) => {
            const range = { firstPage: 0, pages };
            const kv = { valueBytes, skew, readRatio, seed, concurrency };
            if (kind === "kv") return new KvWorkload(range, pageBytes, kv);
            if (kind === "stream") return new StreamWorkload(range);
            return new PhasedWorkload(range, { pageBytes, schedule, kv });
          },
        });
      } catch (error) {
        console.error(`spirit workload: ${error instanceof Error ? error.message : String(error)}`);
        Deno.exit(1);
      }
      // The stdin reader may still be pending: the control channel is over, so leave now.
      if (control) Deno.exit(0);
      if (options.json) console.log(JSON.stringify(result));
      else printHuman(result);
    });
}

/** Where the agent's control channel is: this process's stdio, or a Unix socket to connect to. */
export type ControlChannel = { kind: "stdio" } | { kind: "unix"; path: string };

/** Parses `--control`: `stdio` or `unix:PATH` (pure; throws a RangeError naming the value). */
export function parseControlChannel(value: string): ControlChannel {
  if (value === "stdio") return { kind: "stdio" };
  if (value.startsWith("unix:") && value.length > "unix:".length) {
    return { kind: "unix", path: value.slice("unix:".length) };
  }
  throw new RangeError(`"${value}" is not a control channel: expected stdio or unix:PATH`);
}

function printHuman(result: WorkloadResult): void {
  console.log(
    [
      `workload ${result.workload}: ${
        result.opsPerSec.toFixed(0)
      } ops/s over ${result.durationMs} ms`,
      `  cache ${formatBytes(result.cacheBytes)}, bandwidth ${
        formatRate(result.bandwidthBytesPerSec)
      }, dataset ${formatBytes(result.datasetBytes)}`,
      `  hit ratio ${
        result.hitRatio.toFixed(4)
      } (${result.hits}/${result.accesses}), stalled ${result.stallMs} ms`,
      `  remote read ${formatBytes(result.remoteReadBytes)}, written ${
        formatBytes(result.remoteWriteBytes)
      }, ${formatRate(result.remoteBytesPerSec)}`,
      `  mrc ${
        result.mrc.map(([bytes, ratio]) => `${formatBytes(bytes)}:${ratio.toFixed(3)}`).join(" ")
      }`,
    ].join("\n"),
  );
}

/** Connects, loads, runs (and serves the control channel) and returns the result. */
export async function runWorkloadProcess(options: {
  kind: Kind;
  endpoint: { hostname: string; port: number; token?: Uint8Array };
  /** How to reach the memory server (default auto). */
  transport?: TransportKind;
  cacheBytes: number;
  bandwidthBytesPerSec: number;
  datasetBytes: number;
  durationMs: number;
  warmupMs: number;
  control: ControlChannel | null;
  prefetch: boolean;
  mrcSampleRate?: number;
  makeWorkload: (pages: number, pageBytes: number) => Workload;
}): Promise<WorkloadResult> {
  const transport = await connectTransport(options.endpoint, {
    kind: options.transport ?? "auto",
  });
  try {
    const cache = await PageCache.open(transport, {
      datasetBytes: options.datasetBytes,
      cacheBytes: options.cacheBytes,
      bandwidthBytesPerSec: options.bandwidthBytesPerSec,
      prefetch: options.prefetch,
      ...(options.mrcSampleRate === undefined ? {} : { mrcSampleRate: options.mrcSampleRate }),
    });
    try {
      const workload = options.makeWorkload(cache.pages, cache.pageBytes);
      await workload.load(cache);
      const runner = new WorkloadRunner(cache, workload);
      if (options.control === null) {
        return await runner.run({ durationMs: options.durationMs, warmupMs: options.warmupMs });
      }
      const ready: FarmemReady = { event: "ready", workload: options.kind, pid: Deno.pid };
      const encoder = new TextEncoder();
      const conn = options.control.kind === "unix"
        ? await Deno.connect({ transport: "unix", path: options.control.path })
        : null;
      const writer = conn ?? Deno.stdout;
      const write = (line: string) => writeAll(writer, encoder.encode(line + "\n"));
      await write(JSON.stringify(ready));
      const lines = readerLines(conn ?? Deno.stdin);
      const running = runner.run({ durationMs: options.durationMs, warmupMs: options.warmupMs });
      const controlling = serveControl(lines, { runner, write });
      const result = await running;
      await controlling;
      return result;
    } finally {
      await cache.close();
    }
  } finally {
    await transport.close();
  }
}
