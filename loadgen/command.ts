/**
 * `spirit loadgen memcached|redis`: drives an unmodified key-value server with a zipfian
 * read/write mix and reports cumulative operations (`ops <n> ...` lines: a `log` throughput
 * source for the agent when run as an app's driver).
 * @module
 */
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { parseDurationMs, parseSizeBytes } from "../common/units.ts";
import {
  LOADGEN_DEFAULTS,
  LOADGEN_PROTOCOLS,
  type LoadgenWorkload,
  parseServerAddress,
  type ServerAddress,
  workloadProblems,
} from "./options.ts";
import { runLoadgen } from "./run.ts";

function parsedBy<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

const number = parsedBy((text) => {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) {
    throw new RangeError(`"${text}" is not a number`);
  }
  return value;
});
const duration = parsedBy(parseDurationMs);
const server = parsedBy(parseServerAddress);
const size = parsedBy(parseSizeBytes);

/** Builds `spirit loadgen`. */
export function loadgenCommand() {
  const d = LOADGEN_DEFAULTS;
  return new Command("loadgen")
    .description(
      "Drive a memcached or redis server with a zipfian read/write mix; prints `ops <n> ...` " +
        "lines (cumulative) every report interval",
    )
    .addArgument(
      new Command().createArgument("<protocol>", "memcached or redis").choices(LOADGEN_PROTOCOLS),
    )
    .requiredOption("--server <address>", "HOST:PORT, [IPv6]:PORT or unix:/path", server)
    .option("--keys <n>", "distinct keys", number, d.keys)
    .option("--value-size <size>", "bytes per value, e.g. 1KiB", size, d.valueBytes)
    .option("--skew <theta>", "zipf skew of key popularity (0 = uniform)", number, d.skew)
    .option("--read-ratio <r>", "share of reads (GET), 0..1", number, d.readRatio)
    .option("--connections <n>", "connections to the server", number, d.connections)
    .option("--pipeline <n>", "requests in flight per connection", number, d.pipeline)
    .option("--no-fill", "skip storing every key once before measuring")
    .option("--seed <n>", "random seed", number, d.seed)
    .option(
      "--duration <duration>",
      "measured phase length (default: until SIGTERM/SIGINT)",
      duration,
    )
    .option("--report-interval <duration>", "progress line interval", duration, 500)
    .option(
      "--connect-timeout <duration>",
      "keep retrying the connection this long",
      duration,
      30_000,
    )
    .option("--json", "print exactly one JSON document with the results (progress on stderr)")
    .action(async (protocol, options) => {
      const workload: LoadgenWorkload = {
        keys: options.keys,
        valueBytes: options.valueSize,
        skew: options.skew,
        readRatio: options.readRatio,
        connections: options.connections,
        pipeline: options.pipeline,
        fill: options.fill,
        seed: options.seed,
      };
      const problems = workloadProblems(workload);
      if (problems.length > 0) {
        console.error(`spirit loadgen: invalid options:\n  ${problems.join("\n  ")}`);
        Deno.exit(2);
      }
      Deno.exit(await runCommand(protocol, { server: options.server, workload, options }));
    });
}

async function runCommand(
  protocol: (typeof LOADGEN_PROTOCOLS)[number],
  context: {
    server: ServerAddress;
    workload: LoadgenWorkload;
    options: {
      duration?: number;
      reportInterval: number;
      connectTimeout: number;
      json?: true;
    };
  },
): Promise<number> {
  const { options } = context;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  for (const signal of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(signal, onSignal);
  const report = options.json
    ? (line: string) => console.error(line)
    : (line: string) => console.log(line);
  try {
    const result = await runLoadgen({
      protocol,
      server: context.server,
      workload: context.workload,
      durationMs: options.duration ?? null,
      reportIntervalMs: options.reportInterval,
      connectTimeoutMs: options.connectTimeout,
    }, { report, signal: stop.signal });
    if (options.json) console.log(JSON.stringify(result));
    else {
      console.log(
        `done: ${result.ops} ops in ${(result.durationMs / 1000).toFixed(1)} s ` +
          `(${result.opsPerSec.toFixed(0)} ops/s), ${result.hits} hits, ${result.misses} misses, ` +
          `${result.errors} errors${
            result.lastError === null ? "" : ` (last: ${result.lastError})`
          }`,
      );
    }
    return 0;
  } catch (error) {
    console.error(`spirit loadgen: ${(error as Error).message}`);
    return 1;
  } finally {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      Deno.removeSignalListener(signal, onSignal);
    }
  }
}
