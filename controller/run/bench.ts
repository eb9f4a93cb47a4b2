/**
 * `spirit bench controller`: the controller's per-epoch control overhead (collect, estimate,
 * auction, enforce, as recorded in each epoch's `timings`) with 2, 8 and 32 compute hosts
 * reached over real SSH in network namespaces, where a run's start-up goes (its `info` event),
 * and the wall time of `spirit check` on the largest set. Each measurement runs the real CLI
 * (`spirit run --quiet`, `spirit check --json`) against a playbook file written for hosts made
 * by the netns fixture. Needs root, iproute2 and sshd. Targets (issue 11): at most 100 ms per
 * epoch and `spirit check` within 5 s, with 32 compute hosts.
 * @module
 */
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { formatTable } from "../../common/table.ts";
import { createNetnsHosts, type NetnsHost } from "../devhosts/netns_hosts.ts";
import { parseEpochs, parseEvents } from "../results/read.ts";
import type { EpochRecord } from "../results/types.ts";
import { DEFAULT_SSH_MAX_PARALLEL } from "../playbook/types.ts";
import { durationOption, rateOption } from "./bench_options.ts";
import { busyCpus, type CpuReading, sampleCpu } from "./machine_load.ts";
import type { CheckReport } from "./check.ts";
import { LOCAL_CLI } from "./runtime.ts";

/** Median and 95th percentile (nearest rank) of some figures, in ms. */
export interface Spread {
  medianMs: number;
  p95Ms: number;
}

/** The control overhead measured with one number of compute hosts. */
export interface EpochOverhead {
  computeHosts: number;
  apps: number;
  /** Measured (not warm-up) epochs the figures come from. */
  epochs: number;
  collect: Spread;
  estimate: Spread;
  auction: Spread;
  enforce: Spread;
  total: Spread;
  /** The controller process's CPU time over the same steps (NaN in records without it). */
  cpu: Spread;
  /**
   * CPUs of this machine busy on average over the measured epochs (every process: the
   * simulated hosts' sshds, agents, apps and memory server, and the controller); NaN unknown.
   */
  busyCpus: number;
  /** Measured epochs that pushed at least one changed allocation, and their enforce time. */
  changedEpochs: number;
  enforceWhenChanged: Spread;
  /** Wall time of the whole `spirit run` (start-up, epochs, teardown). */
  runWallMs: number;
  /** Where the run's start-up went (its `info` event), or null when it recorded none. */
  startup: StartupTimes | null;
}

/** A run's start-up, in ms: hosts (connect, deploy, run directory), memory servers, agents. */
export interface StartupTimes {
  hostsMs: number;
  memserversMs: number;
  agentsMs: number;
}

/** The wall time of `spirit check` on a set of hosts. */
export interface CheckTiming {
  hosts: number;
  /** The first check (it may deploy the runtime to the hosts). */
  firstMs: number;
  /** Repeated checks after the first. */
  repeats: number;
  wall: Spread;
  problems: number;
  /** Connection attempts that failed and were retried, over all the checks. */
  retried: number;
}

/** Everything the benchmark measured. */
export interface ControllerBench {
  epochMs: number;
  /** The playbooks' ssh.maxParallel. */
  sshMaxParallel: number;
  appsPerHost: number;
  /** Each compute node's bandwidth to share, bytes/s. */
  nodeBandwidthBytesPerSec: number;
  /** CPUs of this machine. */
  cpus: number;
  overhead: EpochOverhead[];
  check: CheckTiming | null;
}

/** Median and p95 (nearest rank) of `values`; NaN for none. */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  const mid = sorted.length / 2;
  const median = sorted.length % 2 === 1
    ? rank(0.5)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
  return { medianMs: median, p95Ms: rank(0.95) };
}

function sshSpec(host: NetnsHost): Record<string, unknown> {
  const { ssh } = host;
  return {
    host: ssh.host,
    ...(ssh.user === undefined ? {} : { user: ssh.user }),
    ...(ssh.port === undefined ? {} : { port: ssh.port }),
    ...(ssh.identityFile === undefined ? {} : { identityFile: ssh.identityFile }),
    ...(ssh.knownHostsFile === undefined ? {} : { knownHostsFile: ssh.knownHostsFile }),
    strictHostKeyChecking: ssh.strictHostKeyChecking,
    connectTimeout: `${ssh.connectTimeoutMs}ms`,
  };
}

/**
 * Each compute node's bandwidth by default, bytes/s (256 kbit/s): every page an app fetches
 * costs this machine's CPU in the app and the memory server (about 0.6 ms of CPU a page on
 * the 2-CPU VM of the figures in docs/controller_bench.md), and all the simulated hosts share
 * this machine; at 8 Mbit/s per node, 64 apps and their memory server kept 1.5 of its 2 CPUs
 * busy and the control plane measured its queue for the CPU, not its own work.
 */
export const DEFAULT_NODE_BANDWIDTH = 32_000;

/**
 * Default length of each benchmark run. The agent daemons, workloads and controller run their
 * part of an epoch once a second, so V8 compiles that code only after several epochs: at 32
 * hosts the first 10 epochs took 95 ms median, epochs 10 to 19 83 ms, 20 to 39 72 ms (one 40 s
 * run, 2026-12-01). 30 s runs measure the control path mostly compiled, as it runs for hours.
 */
export const DEFAULT_BENCH_DURATION_MS = 30_000;

/**
 * The benchmark's playbook spec: host 0 is the memory node, every other host a compute node
 * with two read-only kv workloads, one request in flight, on a small cache and a tight
 * bandwidth. Bound by bandwidth, not CPU, the simulated hosts leave this machine's cores to the
 * controller, as separate machines would. Read-only, because shrinking the cache of an app with
 * dirty pages waits for their write-back at the app's bandwidth limit: the app's cost, not the
 * controller's.
 */
export function benchPlaybookSpec(
  hosts: readonly NetnsHost[],
  options: {
    output: string;
    epochMs: number;
    durationMs: number;
    appsPerHost?: number;
    sshMaxParallel?: number;
    /** Each compute node's bandwidth, bytes/s (default {@linkcode DEFAULT_NODE_BANDWIDTH}). */
    nodeBandwidthBytesPerSec?: number;
  },
): Record<string, unknown> {
  const [memory, ...computes] = hosts;
  if (memory === undefined || computes.length === 0) {
    throw new RangeError("The benchmark needs a memory host and at least one compute host");
  }
  const perHost = options.appsPerHost ?? 2;
  // Every app's 16 MiB dataset lives on the memory server.
  const capacityMiB = Math.max(512, computes.length * perHost * 16 + 64);
  const hostSpecs: Record<string, unknown> = {
    mem: {
      role: "memory",
      ssh: sshSpec(memory),
      memserver: {
        capacity: `${capacityMiB}MiB`,
        transport: "tcp",
        port: 7070,
        address: memory.address,
      },
    },
  };
  const apps: unknown[] = [];
  computes.forEach((host, i) => {
    const name = `cn${i + 1}`;
    hostSpecs[name] = {
      role: "compute",
      ssh: sshSpec(host),
      memoryNode: "mem",
      cache: "2MiB",
      bandwidth: `${(options.nodeBandwidthBytesPerSec ?? DEFAULT_NODE_BANDWIDTH) * 8}bps`,
    };
    const kinds = [["hot", 0.99], ["mild", 0.6]] as const;
    for (const [app, zipf] of kinds.slice(0, perHost)) {
      apps.push({
        name: `${app}${i + 1}`,
        host: name,
        workload: { kind: "kv", dataset: "16MiB", zipf, readRatio: 1, concurrency: 1 },
      });
    }
  });
  return {
    name: `bench-${computes.length}`,
    hosts: hostSpecs,
    apps,
    policy: "symbiosis",
    epoch: `${options.epochMs}ms`,
    warmup: `${2 * options.epochMs}ms`,
    duration: `${options.durationMs}ms`,
    output: options.output,
    ...(options.sshMaxParallel === undefined
      ? {}
      : { ssh: { maxParallel: options.sshMaxParallel } }),
  };
}

async function spirit(
  args: string[],
  options: { log: (line: string) => void },
): Promise<{ stdout: string; wallMs: number }> {
  const start = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", LOCAL_CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wallMs = performance.now() - start;
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-10).join("\n");
    options.log(stdout.trim());
    throw new Error(`spirit ${args.join(" ")} failed (exit ${out.code}):\n${stderr}`);
  }
  return { stdout, wallMs };
}

/** The start-up times a run's events.jsonl recorded, or null. */
export function startupOf(eventsText: string): StartupTimes | null {
  for (const event of parseEvents(eventsText)) {
    const startup = event.details?.startup as Partial<StartupTimes> | undefined;
    if (
      event.kind === "info" && typeof startup?.hostsMs === "number" &&
      typeof startup.memserversMs === "number" && typeof startup.agentsMs === "number"
    ) {
      return {
        hostsMs: startup.hostsMs,
        memserversMs: startup.memserversMs,
        agentsMs: startup.agentsMs,
      };
    }
  }
  return null;
}

function overheadOf(
  records: readonly EpochRecord[],
  meta: { computeHosts: number; apps: number; runWallMs: number; startup: StartupTimes | null },
  load: { readings: readonly CpuReading[]; epochMs: number; cpus: number },
): EpochOverhead {
  const timed = records.filter((r) => r.phase === "measure" && r.timings !== undefined);
  const firstEnd = Date.parse(timed[0]?.time ?? "");
  const lastEnd = Date.parse(timed.at(-1)?.time ?? "");
  const pick = (key: "collectMs" | "estimateMs" | "auctionMs" | "enforceMs" | "totalMs") =>
    spread(timed.map((r) => r.timings?.[key] ?? NaN));
  // An epoch's decision is in force during the next one: it changed something if the next
  // record's allocation differs.
  const allocation = (r: EpochRecord) =>
    JSON.stringify(r.apps.map((a) => [a.name, a.cacheMiB, a.bandwidthMbps]));
  const changed = timed.filter((r) => {
    const next = records.find((n) => n.epoch === r.epoch + 1);
    return next !== undefined && allocation(next) !== allocation(r);
  });
  return {
    ...meta,
    epochs: timed.length,
    changedEpochs: changed.length,
    enforceWhenChanged: spread(changed.map((r) => r.timings?.enforceMs ?? NaN)),
    collect: pick("collectMs"),
    estimate: pick("estimateMs"),
    auction: pick("auctionMs"),
    enforce: pick("enforceMs"),
    total: pick("totalMs"),
    cpu: spread(timed.map((r) => r.timings?.cpuMs ?? NaN).filter((ms) => !Number.isNaN(ms))),
    busyCpus: busyCpus(load.readings, firstEnd - load.epochMs, lastEnd, load.cpus),
  };
}

/** Runs the benchmark for each host count; `checkRepeats` times `spirit check` on the largest. */
export async function benchController(
  computeCounts: readonly number[],
  options: {
    epochMs: number;
    durationMs: number;
    checkRepeats: number;
    appsPerHost: number;
    sshMaxParallel: number;
    nodeBandwidthBytesPerSec: number;
    log: (line: string) => void;
  },
): Promise<ControllerBench> {
  const result: ControllerBench = {
    epochMs: options.epochMs,
    sshMaxParallel: options.sshMaxParallel,
    appsPerHost: options.appsPerHost,
    nodeBandwidthBytesPerSec: options.nodeBandwidthBytesPerSec,
    cpus: navigator.hardwareConcurrency,
    overhead: [],
    check: null,
  };
  const largest = Math.max(...computeCounts);
  const work = await Deno.makeTempDir({ prefix: "spirit-bench-controller-" });
  try {
    for (const count of computeCounts) {
      options.log(`${count} compute hosts + 1 memory host: creating namespaces and sshds`);
      await using net = await createNetnsHosts(count + 1);
      const output = `${work}/results-${count}`;
      const spec = benchPlaybookSpec(net.hosts, { ...options, output });
      const file = `${work}/bench_${count}.ts`;
      await Deno.writeTextFile(file, `export default ${JSON.stringify(spec, null, 2)};\n`);
      if (count === largest && options.checkRepeats > 0) {
        options.log(`spirit check on ${count + 1} hosts (${options.checkRepeats + 1} times)`);
        const runs: number[] = [];
        let problems = 0;
        let retried = 0;
        for (let i = 0; i <= options.checkRepeats; i++) {
          const { stdout, wallMs } = await spirit(["check", file, "--json"], options);
          const report = JSON.parse(stdout) as Pick<CheckReport, "problems" | "retriedLogins">;
          problems = report.problems.length;
          retried += Object.values(report.retriedLogins).reduce((a, b) => a + b, 0);
          runs.push(wallMs);
        }
        const [firstMs = NaN, ...repeats] = runs;
        result.check = {
          hosts: count + 1,
          firstMs,
          repeats: repeats.length,
          wall: spread(repeats),
          problems,
          retried,
        };
      }
      options.log(`spirit run on ${count} compute hosts (${options.durationMs} ms)`);
      const sampler = sampleCpu();
      let readings: CpuReading[] = [];
      let wallMs: number;
      try {
        ({ wallMs } = await spirit(["run", file, "--quiet"], options));
      } finally {
        readings = sampler.stop();
      }
      const runs = [...Deno.readDirSync(output)].filter((e) => e.isDirectory);
      const runDir = runs[0]?.name;
      if (runs.length !== 1 || runDir === undefined) {
        throw new Error(`Expected one run directory under ${output}, found ${runs.length}`);
      }
      const epochs = parseEpochs(await Deno.readTextFile(`${output}/${runDir}/epochs.jsonl`));
      const events = await Deno.readTextFile(`${output}/${runDir}/events.jsonl`);
      result.overhead.push(
        overheadOf(epochs.records, {
          computeHosts: count,
          apps: (spec.apps as unknown[]).length,
          runWallMs: wallMs,
          startup: startupOf(events),
        }, { readings, epochMs: options.epochMs, cpus: result.cpus }),
      );
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
  return result;
}

/** A rate in kbit/s below 1 Mbit/s, else in Mbit/s. */
function bitRate(bytesPerSec: number): string {
  const kbps = (bytesPerSec * 8) / 1000;
  return kbps < 1000 ? `${kbps} kbit/s` : `${kbps / 1000} Mbit/s`;
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : "-");

/** The figures as text tables. */
export function formatControllerBench(bench: ControllerBench): string {
  const cell = (s: Spread) => `${ms(s.medianMs)} / ${ms(s.p95Ms)}`;
  const lines = [
    `Per-epoch control overhead over SSH (epoch ${bench.epochMs} ms, ${bench.appsPerHost} ` +
    `apps per compute host sharing ${bitRate(bench.nodeBandwidthBytesPerSec)}, ` +
    `ssh.maxParallel ${bench.sshMaxParallel}; median / p95 in ms; target: total <= 100 ms ` +
    `with 32 hosts; busy CPUs: this machine's, of ${bench.cpus}, over the measured epochs)`,
    formatTable(
      [
        "compute hosts",
        "apps",
        "epochs",
        "collect",
        "estimate",
        "auction",
        "enforce",
        "total",
        "enforce (changes)",
        "controller CPU",
        "busy CPUs",
      ],
      bench.overhead.map((o) => [
        String(o.computeHosts),
        String(o.apps),
        String(o.epochs),
        cell(o.collect),
        cell(o.estimate),
        cell(o.auction),
        cell(o.enforce),
        cell(o.total),
        `${cell(o.enforceWhenChanged)} (${o.changedEpochs} epochs)`,
        cell(o.cpu),
        Number.isFinite(o.busyCpus) ? o.busyCpus.toFixed(2) : "-",
      ]),
    ),
    "",
    "Start-up of the run (ms): hosts = connect, deploy (verified cache) and run directory; " +
    "then memory servers; then agents and apps; whole run wall time",
    formatTable(
      ["compute hosts", "hosts", "memory servers", "agents and apps", "run wall (s)"],
      bench.overhead.map((o) => [
        String(o.computeHosts),
        o.startup === null ? "-" : String(o.startup.hostsMs),
        o.startup === null ? "-" : String(o.startup.memserversMs),
        o.startup === null ? "-" : String(o.startup.agentsMs),
        (o.runWallMs / 1000).toFixed(1),
      ]),
    ),
  ];
  if (bench.check !== null) {
    const c = bench.check;
    lines.push(
      "",
      `spirit check wall time (target: within 5 s on 32 compute hosts)`,
      formatTable([
        "hosts",
        "first (ms)",
        "runs",
        "median (ms)",
        "p95 (ms)",
        "problems",
        "retried logins",
      ], [[
        String(c.hosts),
        ms(c.firstMs),
        String(c.repeats),
        ms(c.wall.medianMs),
        ms(c.wall.p95Ms),
        String(c.problems),
        String(c.retried),
      ]]),
    );
  }
  return lines.join("\n");
}

function counts(value: string): number[] {
  const list = value.split(",").map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 32)) {
    throw new InvalidArgumentError(`"${value}" is not a list of host counts from 1 to 32`);
  }
  return list;
}

function appsPerHost(value: string): number {
  if (value !== "1" && value !== "2") throw new InvalidArgumentError(`"${value}" is not 1 or 2`);
  return Number(value);
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError(`"${value}" is not a whole number from 1`);
  }
  return n;
}

function repeats(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a count`);
  return n;
}

/** Builds `spirit bench controller`. */
export function controllerBenchCommand() {
  return new Command("controller")
    .description(
      "Per-epoch control overhead (collect, estimate, auction, enforce) and start-up with 2, 8 " +
        "and 32 compute hosts over SSH in network namespaces, and `spirit check` on the " +
        "largest set (needs root)",
    )
    .option("--hosts <counts>", "compute-host counts, comma-separated", counts, [2, 8, 32])
    .option("--apps-per-host <n>", "kv workloads per compute host (1 or 2)", appsPerHost, 2)
    .option(
      "--ssh-concurrency <n>",
      `the playbooks' ssh.maxParallel (default ${DEFAULT_SSH_MAX_PARALLEL})`,
      positive,
      DEFAULT_SSH_MAX_PARALLEL,
    )
    .option(
      "--node-bandwidth <rate>",
      "each compute node's bandwidth to share (e.g. 256kbps, 8Mbps): the simulated apps' load",
      rateOption,
      DEFAULT_NODE_BANDWIDTH,
    )
    .option("--epoch <duration>", "epoch length", durationOption, 1000)
    .option(
      "--duration <duration>",
      "length of each run, warm-up (2 epochs) included (the control path's code runs once an " +
        "epoch per process, so V8 compiles it only after some 10 epochs: 30 s runs measure it " +
        "mostly compiled)",
      durationOption,
      DEFAULT_BENCH_DURATION_MS,
    )
    .option("--check-repeats <n>", "timed `spirit check` runs after the first", repeats, 5)
    .option("--json", "print the figures as one JSON document")
    .action(async (options) => {
      const missing = Deno.uid() !== 0
        ? "root privileges (network namespaces, sshd)"
        : ["ip", "tc", "ssh"].filter((c) => !onPath(c)).map((c) => `"${c}" on PATH`)
          .concat(existsSync("/usr/sbin/sshd") ? [] : ["/usr/sbin/sshd"]).join(", ") ||
          undefined;
      if (missing !== undefined) {
        console.error(`spirit bench controller: skipped: needs ${missing}`);
        Deno.exitCode = 1;
        return;
      }
      const bench = await benchController(options.hosts, {
        epochMs: options.epoch,
        durationMs: options.duration,
        checkRepeats: options.checkRepeats,
        appsPerHost: options.appsPerHost,
        sshMaxParallel: options.sshConcurrency,
        nodeBandwidthBytesPerSec: options.nodeBandwidth,
        log: (line) => console.error(line),
      });
      console.log(options.json ? JSON.stringify(bench, null, 2) : formatControllerBench(bench));
    });
}

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function onPath(command: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((dir) => existsSync(`${dir}/${command}`));
}
