/**
 * Playbook validation: schema, unit resolution and cross-field checks, all problems reported
 * at once with their field paths, before anything touches a host. Pure.
 * @module
 */
import type { z } from "zod";
import { formatBytes, formatRate } from "../../common/units.ts";
import { formatPath, PlaybookError, type PlaybookIssue } from "./errors.ts";
import { type ParsedPlaybook, playbookSchema } from "./schema.ts";
import type {
  App,
  AppLimits,
  DriverSettings,
  Host,
  KvSettings,
  Playbook,
  SshTarget,
  ThroughputSource,
  Workload,
} from "./types.ts";

/** Options of {@linkcode validatePlaybook}. */
export interface ValidateOptions {
  /** Where the playbook came from, named in the error (default: its name). */
  source?: string;
}

/**
 * Validates a playbook as written and resolves its units.
 * @throws {PlaybookError} listing every problem with its field path.
 * @example validatePlaybook({ name: "x", hosts: {...}, apps: [...] }).epochMs // 5000
 */
export function validatePlaybook(spec: unknown, options: ValidateOptions = {}): Playbook {
  const parsed = playbookSchema.safeParse(spec);
  const source = options.source ?? describeSource(spec);
  if (!parsed.success) {
    throw new PlaybookError(source, parsed.error.issues.map(toPlaybookIssue));
  }
  const playbook = resolve(parsed.data);
  const issues = crossCheck(playbook);
  if (issues.length > 0) throw new PlaybookError(source, issues);
  return playbook;
}

/** Checks the constraints that span fields of a resolved playbook; returns every problem. */
export function crossCheck(playbook: Playbook): PlaybookIssue[] {
  const issues: PlaybookIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  const hostNames = Object.keys(playbook.hosts);
  const memoryNames = hostNames.filter((n) => playbook.hosts[n]?.role === "memory");
  const computeNames = hostNames.filter((n) => playbook.hosts[n]?.role === "compute");
  const list = (names: string[]) =>
    names.length === 0 ? "none defined" : names.map((n) => `"${n}"`).join(", ");

  for (const [name, host] of Object.entries(playbook.hosts)) {
    if (host.role !== "compute") continue;
    const memory = playbook.hosts[host.memoryNode];
    if (memory === undefined) {
      add(
        `hosts.${name}.memoryNode`,
        `unknown host "${host.memoryNode}" (memory hosts: ${list(memoryNames)})`,
      );
    } else if (memory.role !== "memory") {
      add(
        `hosts.${name}.memoryNode`,
        `"${host.memoryNode}" is a ${memory.role} host, not a memory host (memory hosts: ${
          list(memoryNames)
        })`,
      );
    } else if (
      host.remoteSwap !== null && host.remoteSwap.sizeBytes > memory.memserver.capacityBytes
    ) {
      // Swap-out beyond the memory node's capacity would fail (the pages stay local): say so now.
      add(
        `hosts.${name}.remoteSwap.size`,
        `${formatBytes(host.remoteSwap.sizeBytes)} exceeds the capacity of memory host ` +
          `"${host.memoryNode}" (${formatBytes(memory.memserver.capacityBytes)})`,
      );
    }
  }
  checkMemserverPorts(playbook, add);
  for (const [name, host] of Object.entries(playbook.hosts)) {
    if (host.role === "memory" && host.memserver.transport === "tcp") {
      if (host.memserver.rdmaLegacyAllow.length > 0) {
        add(
          `hosts.${name}.memserver.rdmaLegacyAllow`,
          'applies to RDMA only; set transport to "rdma" or "auto", or remove it',
        );
      }
    }
  }

  const seen = new Map<string, number>();
  playbook.apps.forEach((app, i) => {
    const path = `apps[${i}]`;
    const first = seen.get(app.name);
    if (first !== undefined) {
      add(`${path}.name`, `duplicate app name "${app.name}" (also apps[${first}].name)`);
    } else seen.set(app.name, i);
    const host = playbook.hosts[app.host];
    if (host === undefined) {
      add(`${path}.host`, `unknown host "${app.host}" (compute hosts: ${list(computeNames)})`);
      return;
    }
    if (host.role !== "compute") {
      add(
        `${path}.host`,
        `"${app.host}" is a memory host; apps run on compute hosts (${list(computeNames)})`,
      );
      return;
    }
    checkLimits(app.limits, host, `${path}.limits`, add);
    if (
      app.kind === "command" && app.command.throughput.kind === "log" &&
      app.command.throughput.from === "driver" && app.command.driver === undefined
    ) {
      add(
        `${path}.command.throughput.from`,
        'reads the driver\'s output, but the app has no "driver"',
      );
    }
  });
  checkNodeSums(playbook, add);

  if (playbook.epochMs < 100) add("epoch", `must be at least 100ms (got ${playbook.epochMs}ms)`);
  if (playbook.durationMs !== null) {
    if (playbook.warmupMs >= playbook.durationMs) {
      add(
        "warmup",
        `must be shorter than duration (warmup ${playbook.warmupMs}ms, duration ${playbook.durationMs}ms)`,
      );
    } else if (playbook.epochMs > playbook.durationMs - playbook.warmupMs) {
      add(
        "epoch",
        `must fit at least once in duration minus warmup (epoch ${playbook.epochMs}ms, ${
          playbook.durationMs - playbook.warmupMs
        }ms left after warm-up)`,
      );
    }
  }
  return issues;
}

function checkLimits(
  limits: AppLimits,
  host: Extract<Host, { role: "compute" }>,
  path: string,
  add: (path: string, message: string) => void,
): void {
  if (limits.minCacheBytes > limits.maxCacheBytes) {
    add(
      `${path}.minCache`,
      `must not exceed maxCache (${formatBytes(limits.minCacheBytes)} > ${
        formatBytes(limits.maxCacheBytes)
      })`,
    );
  }
  if (limits.minBandwidthBytesPerSec > limits.maxBandwidthBytesPerSec) {
    add(
      `${path}.minBandwidth`,
      `must not exceed maxBandwidth (${formatRate(limits.minBandwidthBytesPerSec)} > ${
        formatRate(limits.maxBandwidthBytesPerSec)
      })`,
    );
  }
  if (limits.maxCacheBytes > host.cacheBytes) {
    add(
      `${path}.maxCache`,
      `exceeds host "${host.name}" cache (${formatBytes(limits.maxCacheBytes)} > ${
        formatBytes(host.cacheBytes)
      })`,
    );
  }
  if (limits.maxBandwidthBytesPerSec > host.bandwidthBytesPerSec) {
    add(
      `${path}.maxBandwidth`,
      `exceeds host "${host.name}" bandwidth (${formatRate(limits.maxBandwidthBytesPerSec)} > ${
        formatRate(host.bandwidthBytesPerSec)
      })`,
    );
  }
}

/** Minimums on one node must fit its capacity; far-memory datasets must fit the memory node. */
function checkNodeSums(playbook: Playbook, add: (path: string, message: string) => void): void {
  const datasetByMemory = new Map<string, number>();
  for (const [name, host] of Object.entries(playbook.hosts)) {
    if (host.role !== "compute") continue;
    const apps = playbook.apps.filter((a) => a.host === name);
    const minCache = apps.reduce((s, a) => s + a.limits.minCacheBytes, 0);
    const minBandwidth = apps.reduce((s, a) => s + a.limits.minBandwidthBytesPerSec, 0);
    if (minCache > host.cacheBytes) {
      add(
        `hosts.${name}.cache`,
        `is smaller than the sum of its apps' minCache (${formatBytes(host.cacheBytes)} < ${
          formatBytes(minCache)
        })`,
      );
    }
    if (minBandwidth > host.bandwidthBytesPerSec) {
      add(
        `hosts.${name}.bandwidth`,
        `is smaller than the sum of its apps' minBandwidth (${
          formatRate(host.bandwidthBytesPerSec)
        } < ${formatRate(minBandwidth)})`,
      );
    }
    const datasets = apps.reduce(
      (s, a) => s + (a.kind === "workload" ? datasetBytes(a.workload) : 0),
      0,
    );
    datasetByMemory.set(host.memoryNode, (datasetByMemory.get(host.memoryNode) ?? 0) + datasets);
  }
  for (const [memoryName, bytes] of datasetByMemory) {
    const memory = playbook.hosts[memoryName];
    if (memory?.role === "memory" && bytes > memory.memserver.capacityBytes) {
      add(
        `hosts.${memoryName}.memserver.capacity`,
        `is smaller than the datasets of the workloads using it (${
          formatBytes(memory.memserver.capacityBytes)
        } < ${formatBytes(bytes)})`,
      );
    }
  }
}

/** Two memory servers on the same machine cannot listen on the same port. */
function checkMemserverPorts(
  playbook: Playbook,
  add: (path: string, message: string) => void,
): void {
  const taken = new Map<string, string>();
  for (const [name, host] of Object.entries(playbook.hosts)) {
    if (host.role !== "memory" || host.memserver.port === 0) continue;
    const machine = host.ssh === null ? "(local)" : `${host.ssh.host}:${host.ssh.port ?? ""}`;
    const key = `${machine}/${host.memserver.port}`;
    const other = taken.get(key);
    if (other !== undefined) {
      add(
        `hosts.${name}.memserver.port`,
        `port ${host.memserver.port} is already used by host "${other}" on the same machine`,
      );
    } else taken.set(key, name);
  }
}

/** The remote bytes a workload needs: its dataset. */
export function datasetBytes(workload: Workload): number {
  return workload.datasetBytes;
}

function resolve(parsed: ParsedPlaybook): Playbook {
  const hosts: Record<string, Host> = {};
  for (const [name, h] of Object.entries(parsed.hosts)) {
    const ssh = h.ssh === undefined ? null : resolveSsh(h.ssh);
    hosts[name] = h.role === "memory"
      ? {
        name,
        role: "memory",
        ssh,
        memserver: {
          capacityBytes: h.memserver.capacity,
          transport: h.memserver.transport,
          port: h.memserver.port,
          ...(h.memserver.address === undefined ? {} : { address: h.memserver.address }),
          rdmaLegacyAllow: h.memserver.rdmaLegacyAllow,
        },
      }
      : {
        name,
        role: "compute",
        ssh,
        memoryNode: h.memoryNode,
        cacheBytes: h.cache,
        bandwidthBytesPerSec: h.bandwidth,
        remoteSwap: h.remoteSwap === undefined
          ? null
          : { sizeBytes: h.remoteSwap.size, priority: h.remoteSwap.priority },
      };
  }
  const apps = parsed.apps.map((a, index): App => {
    const host = hosts[a.host];
    const capacity = host?.role === "compute"
      ? { cache: host.cacheBytes, bandwidth: host.bandwidthBytesPerSec }
      : { cache: Infinity, bandwidth: Infinity };
    const limits: AppLimits = {
      minCacheBytes: a.limits.minCache ?? 0,
      maxCacheBytes: a.limits.maxCache ?? capacity.cache,
      minBandwidthBytesPerSec: a.limits.minBandwidth ?? 0,
      maxBandwidthBytesPerSec: a.limits.maxBandwidth ?? capacity.bandwidth,
    };
    const base = { name: a.name, host: a.host, limits };
    if (a.command !== undefined) {
      const c = a.command;
      return {
        ...base,
        kind: "command",
        command: {
          ...(c.argv === undefined ? {} : { argv: c.argv }),
          ...(c.cwd === undefined ? {} : { cwd: c.cwd }),
          env: c.env,
          cgroup: {
            ...(c.cgroup.path === undefined ? {} : { path: c.cgroup.path }),
            // No device named: the node's default, which the agent resolves (never "none").
            ...(c.cgroup.swapDevice === undefined ? {} : {
              swapDevices: typeof c.cgroup.swapDevice === "string"
                ? [c.cgroup.swapDevice]
                : c.cgroup.swapDevice,
            }),
          },
          ...(c.driver === undefined
            ? {}
            : { driver: resolveDriver(c.driver, { seed: parsed.seed + index }) }),
          throughput: resolveThroughput(c.throughput, {
            loadgenDriver: c.driver?.loadgen !== undefined,
          }),
        },
      };
    }
    // The schema guarantees exactly one of workload / command.
    return { ...base, kind: "workload", workload: resolveWorkload(a.workload as WorkloadIn) };
  });
  return {
    name: parsed.name,
    ...(parsed.description === undefined ? {} : { description: parsed.description }),
    hosts,
    apps,
    policy: parsed.policy,
    epochMs: parsed.epoch,
    durationMs: parsed.duration === "forever" ? null : parsed.duration,
    warmupMs: parsed.warmup,
    output: parsed.output,
    seed: parsed.seed,
    ssh: { maxParallel: parsed.ssh.maxParallel },
  };
}

type ParsedApp = ParsedPlaybook["apps"][number];
type WorkloadIn = NonNullable<ParsedApp["workload"]>;
type ThroughputIn = NonNullable<ParsedApp["command"]>["throughput"];
type DriverIn = NonNullable<NonNullable<ParsedApp["command"]>["driver"]>;
type SshIn = NonNullable<ParsedPlaybook["hosts"][string]["ssh"]>;

function resolveSsh(s: SshIn): SshTarget {
  return {
    host: s.host,
    ...(s.user === undefined ? {} : { user: s.user }),
    ...(s.port === undefined ? {} : { port: s.port }),
    ...(s.identityFile === undefined ? {} : { identityFile: s.identityFile }),
    ...(s.knownHostsFile === undefined ? {} : { knownHostsFile: s.knownHostsFile }),
    strictHostKeyChecking: s.strictHostKeyChecking,
    connectTimeoutMs: s.connectTimeout,
    options: s.options,
  };
}

function resolveWorkload(w: WorkloadIn): Workload {
  switch (w.kind) {
    case "stream":
      return { kind: "stream", datasetBytes: w.dataset };
    case "kv":
      return { kind: "kv", datasetBytes: w.dataset, ...kvSettings(w) };
    case "phased":
      return {
        kind: "phased",
        datasetBytes: w.dataset,
        phases: w.phases.map((p) => ({ kind: p.kind, durationMs: p.duration })),
        ...kvSettings(w),
      };
  }
}

function kvSettings(
  w: { zipf: number; valueSize: number; readRatio: number; concurrency: number },
): KvSettings {
  return {
    zipf: w.zipf,
    valueBytes: w.valueSize,
    readRatio: w.readRatio,
    concurrency: w.concurrency,
  };
}

/** The throughput source of spirit's load generator: its cumulative `ops <n>` lines. */
export const LOADGEN_THROUGHPUT: ThroughputSource = {
  kind: "log",
  pattern: "^ops (\\d+)",
  stream: "stdout",
  from: "driver",
};

function resolveDriver(d: DriverIn, options: { seed: number }): DriverSettings {
  const common = { env: d.env, ...(d.cwd === undefined ? {} : { cwd: d.cwd }) };
  if (d.loadgen === undefined) return { kind: "argv", argv: d.argv ?? [], ...common };
  const l = d.loadgen;
  return {
    kind: "loadgen",
    protocol: l.protocol,
    server: l.server,
    workload: {
      keys: l.keys,
      valueBytes: l.valueSize,
      skew: l.skew,
      readRatio: l.readRatio,
      connections: l.connections,
      pipeline: l.pipeline,
      fill: l.fill,
      seed: options.seed,
    },
    ...common,
  };
}

function resolveThroughput(
  t: ThroughputIn,
  options: { loadgenDriver: boolean },
): ThroughputSource {
  if (t === undefined) return options.loadgenDriver ? LOADGEN_THROUGHPUT : { kind: "none" };
  switch (t.kind) {
    case "none":
      return { kind: "none" };
    case "command":
      return {
        kind: "command",
        argv: t.argv,
        ...(t.timeout === undefined ? {} : { timeoutMs: t.timeout }),
      };
    case "http":
      return {
        kind: "http",
        url: t.url,
        ...(t.pattern === undefined ? {} : { pattern: t.pattern }),
        ...(t.timeout === undefined ? {} : { timeoutMs: t.timeout }),
      };
    case "log":
      return { kind: "log", pattern: t.pattern, stream: t.stream, from: t.from };
  }
}

/** Turns a zod issue into a message that names the accepted values where there is a list. */
function toPlaybookIssue(issue: z.core.$ZodIssue): PlaybookIssue {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case "invalid_value":
      return { path, message: `must be one of ${issue.values.map(quote).join(", ")}` };
    case "invalid_union": {
      const options = (issue as { options?: unknown[] }).options;
      if (Array.isArray(options)) {
        return { path, message: `must be one of ${options.map(quote).join(", ")}` };
      }
      return { path, message: issue.message };
    }
    case "invalid_type": {
      const received = /received (\w+)/.exec(issue.message)?.[1];
      if (received === "undefined") {
        return { path, message: `is required (expected ${issue.expected})` };
      }
      return { path, message: issue.message.replace(/^Invalid input: /, "") };
    }
    default:
      return { path, message: issue.message };
  }
}

function quote(value: unknown): string {
  return JSON.stringify(value);
}

function describeSource(spec: unknown): string {
  const name = (spec as { name?: unknown } | null)?.name;
  return typeof name === "string" ? `"${name}"` : "(unnamed)";
}
