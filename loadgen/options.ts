/**
 * What a load generator run is asked to do, the server address syntax, and the command-line
 * arguments that ask for it (so a playbook can start `spirit loadgen` as a driver). Pure.
 * @module
 */

/** Key-value protocols the load generator speaks. */
export const LOADGEN_PROTOCOLS = ["memcached", "redis"] as const;
/** One protocol: memcached's text protocol or redis's RESP. */
export type LoadgenProtocol = typeof LOADGEN_PROTOCOLS[number];

/** Where the server listens: TCP `HOST:PORT` or a Unix socket `unix:/path`. */
export type ServerAddress =
  | { kind: "tcp"; hostname: string; port: number }
  | { kind: "unix"; path: string };

/** The workload: key space, value size, popularity, mix and concurrency. */
export interface LoadgenWorkload {
  /** Number of distinct keys (the data set is about keys x valueBytes). */
  keys: number;
  /** Bytes per value, 1 B to 1 MiB. */
  valueBytes: number;
  /** Zipf exponent of key popularity (0 = uniform, 0.99 = YCSB's default). */
  skew: number;
  /** Fraction of operations that are reads (GET); the rest are writes (SET). */
  readRatio: number;
  /** Connections to the server, each with its own request stream. */
  connections: number;
  /** Requests in flight per connection (sent in one batch, answered in order). */
  pipeline: number;
  /** Store every key once before measuring, so the data set is in the server (default true). */
  fill: boolean;
  /** Seed of the key and mix choices. */
  seed: number;
}

/** Defaults of {@link LoadgenWorkload}. */
export const LOADGEN_DEFAULTS: LoadgenWorkload = {
  keys: 100_000,
  valueBytes: 1024,
  skew: 0.99,
  readRatio: 0.9,
  connections: 2,
  pipeline: 8,
  fill: true,
  seed: 1,
};

/** Accepted ranges, checked by {@link workloadProblems}. */
export const LOADGEN_LIMITS = {
  keys: { min: 1, max: 100_000_000 },
  valueBytes: { min: 1, max: 1 << 20 },
  skew: { min: 0, max: 10 },
  connections: { min: 1, max: 256 },
  pipeline: { min: 1, max: 1024 },
} as const;

/**
 * Parses `HOST:PORT`, `[IPv6]:PORT` or `unix:/path`.
 * @throws {RangeError} naming what is wrong and the accepted forms.
 * @example parseServerAddress("127.0.0.1:11211") // { kind: "tcp", hostname: "127.0.0.1", port: 11211 }
 */
export function parseServerAddress(text: string): ServerAddress {
  const forms = "expected HOST:PORT, [IPv6]:PORT or unix:/absolute/path";
  if (text.startsWith("unix:")) {
    const path = text.slice("unix:".length);
    if (!path.startsWith("/")) throw new RangeError(`Invalid server "${text}": ${forms}`);
    return { kind: "unix", path };
  }
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s\[\]]+)):(\d+)$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Invalid server "${text}": ${forms} (port 1-65535)`);
  }
  return { kind: "tcp", hostname: match[1] ?? match[2] ?? "", port };
}

/** The address as written on a command line (pure). */
export function formatServerAddress(address: ServerAddress): string {
  if (address.kind === "unix") return `unix:${address.path}`;
  return address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
}

/** Every out-of-range field of a workload, as `field: message` (empty when valid). */
export function workloadProblems(workload: LoadgenWorkload): string[] {
  const problems: string[] = [];
  const integer = (name: keyof typeof LOADGEN_LIMITS & keyof LoadgenWorkload) => {
    const value = workload[name] as number;
    const { min, max } = LOADGEN_LIMITS[name];
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}: must be an integer from ${min} to ${max} (got ${value})`);
    }
  };
  integer("keys");
  integer("valueBytes");
  integer("connections");
  integer("pipeline");
  const { min, max } = LOADGEN_LIMITS.skew;
  if (!(workload.skew >= min && workload.skew <= max)) {
    problems.push(`skew: must be from ${min} to ${max} (got ${workload.skew})`);
  }
  if (!(workload.readRatio >= 0 && workload.readRatio <= 1)) {
    problems.push(`readRatio: must be from 0 to 1 (got ${workload.readRatio})`);
  }
  return problems;
}

/** The `spirit` CLI arguments that run this load (`["loadgen", protocol, ...]`). */
export function loadgenArgs(
  protocol: LoadgenProtocol,
  options: { server: ServerAddress; workload: LoadgenWorkload },
): string[] {
  const { server, workload } = options;
  return [
    "loadgen",
    protocol,
    "--server",
    formatServerAddress(server),
    "--keys",
    String(workload.keys),
    "--value-size",
    String(workload.valueBytes),
    "--skew",
    String(workload.skew),
    "--read-ratio",
    String(workload.readRatio),
    "--connections",
    String(workload.connections),
    "--pipeline",
    String(workload.pipeline),
    "--seed",
    String(workload.seed),
    ...(workload.fill ? [] : ["--no-fill"]),
  ];
}
