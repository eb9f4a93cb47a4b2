/**
 * The resolved playbook: what `definePlaybook` and `loadPlaybook` return after validation.
 * Every human unit is already parsed: sizes in bytes, rates in bytes/s, durations in ms.
 * Pure types and constants.
 * @module
 */
import type { ThroughputSource } from "../../agent/protocol.ts";
import type { LoadgenProtocol, LoadgenWorkload, ServerAddress } from "../../loadgen/options.ts";

/** Allocation policies a playbook can ask for. */
export const POLICIES = ["symbiosis", "static", "ideal", "harvest", "trade", "drf"] as const;
/** One allocation policy. */
export type Policy = typeof POLICIES[number];

/** Memory-server transports; `auto` means RDMA when the memory node has a device, TCP otherwise. */
export const TRANSPORTS = ["tcp", "rdma", "auto"] as const;
/** One memory-server transport. */
export type Transport = typeof TRANSPORTS[number];

/** How to reach a host over OpenSSH. `null` in a host means this machine, without SSH. */
export interface SshTarget {
  /** Address or name (a `Host` alias from ~/.ssh/config works). */
  host: string;
  /** Login user; absent means ssh's own default (~/.ssh/config, then the local user). */
  user?: string;
  /** Port; absent means ssh's own default (~/.ssh/config, then 22). */
  port?: number;
  /** Private key file passed as `-i`. */
  identityFile?: string;
  /** Known-hosts file used instead of ~/.ssh/known_hosts (`UserKnownHostsFile`). */
  knownHostsFile?: string;
  /** `yes` (default) refuses unknown host keys; `accept-new` records first-seen keys. */
  strictHostKeyChecking: "yes" | "accept-new";
  /** How long to wait for the TCP connection, in ms. */
  connectTimeoutMs: number;
  /**
   * Extra `-o Key=Value` options, passed after spirit's own (ssh keeps the first value, so
   * spirit's win); options that weaken host-key checking or that spirit sets are refused at
   * validation (controller/playbook/ssh_options.ts).
   */
  options: Record<string, string>;
}

/** Fields every host has. */
interface HostBase {
  /** The key under `hosts` in the playbook. */
  name: string;
  /** How to reach it, or `null` for this machine. */
  ssh: SshTarget | null;
}

/** Memory-server settings of a memory node. */
export interface MemserverSettings {
  /** Bytes of remote memory this node offers. */
  capacityBytes: number;
  transport: Transport;
  /** TCP port (also the RDMA CM port). */
  port: number;
  /** Address compute nodes use to reach the server; absent means the ssh host, or 127.0.0.1. */
  address?: string;
  /**
   * CIDR blocks (normalised, e.g. "10.0.0.0/24") whose legacy RDMA clients (remote-swap drivers
   * sending only `{addr, rkey, size}`, without the run's secret) the server admits.
   */
  rdmaLegacyAllow: string[];
}

/** A memory node: runs a memory server. */
export interface MemoryHost extends HostBase {
  role: "memory";
  memserver: MemserverSettings;
}

/** A compute node: runs apps, shares its cache and remote bandwidth among them. */
export interface ComputeHost extends HostBase {
  role: "compute";
  /** Name of the memory host this node's apps use for remote memory. */
  memoryNode: string;
  /** Local memory shared among this node's apps, in bytes. */
  cacheBytes: number;
  /** Remote-memory bandwidth shared among this node's apps, in bytes/s. */
  bandwidthBytesPerSec: number;
  /**
   * The node's remote swap device (its pages live on `memoryNode`), started before the apps;
   * null: none. Command apps without `cgroup.swapDevice` swap to it.
   */
  remoteSwap: RemoteSwapSettings | null;
}

/** A compute node's remote swap device. */
export interface RemoteSwapSettings {
  /** Device size in bytes (only pages written cost the memory node anything). */
  sizeBytes: number;
  /** swapon priority, -1..32767 (default 32000, above ordinary disk swap). */
  priority: number;
}

/** Default swapon priority of a playbook's remote swap device. */
export const DEFAULT_REMOTE_SWAP_PRIORITY = 32000;

/** Any host, discriminated on `role`. */
export type Host = MemoryHost | ComputeHost;

/** Settings of the kv behaviour (the kv workload, and the kv phases of a phased workload). */
export interface KvSettings {
  /** Zipf exponent of key popularity (0 = uniform). */
  zipf: number;
  /** Bytes per value, 8 to 4096. */
  valueBytes: number;
  /** Fraction of operations that are reads, in [0, 1]. */
  readRatio: number;
  /** Requests in flight at once, like a server with that many clients. */
  concurrency: number;
}

/** A skewed key-value store over far memory (cache-sensitive). */
export interface KvWorkload extends KvSettings {
  kind: "kv";
  datasetBytes: number;
}

/** STREAM-like kernels over far memory (bandwidth-hungry, cache-insensitive). */
export interface StreamWorkload {
  kind: "stream";
  datasetBytes: number;
}

/** One phase of a phased workload. */
export interface WorkloadPhase {
  kind: "kv" | "stream";
  durationMs: number;
}

/**
 * Alternates kv and stream behaviour on a schedule, looping (kv on the first half of the
 * dataset, stream on the second): tests how fast the allocation adapts.
 */
export interface PhasedWorkload extends KvSettings {
  kind: "phased";
  datasetBytes: number;
  phases: WorkloadPhase[];
}

/** Any built-in far-memory workload. */
export type Workload = KvWorkload | StreamWorkload | PhasedWorkload;

/**
 * Where the agent reads an unmodified app's throughput, as a cumulative operation count
 * (`{ kind: "none" }` without one). The agent protocol's own type, so it passes through as is.
 */
export type { ThroughputSource };

/** cgroup enforcement settings of a command app. */
export interface CgroupSettings {
  /**
   * An existing cgroup to adopt, relative to the cgroup mount (e.g. a container's
   * `/system.slice/docker-abc.scope`); then nothing is started and `argv` is absent.
   */
  path?: string;
  /**
   * Block devices the app swaps to (remote memory); bandwidth limits throttle them. Absent:
   * the node's default, resolved by the agent (its remote swap device, else every active swap
   * device).
   */
  swapDevices?: string[];
}

/** spirit's load generator driving a key-value server (`spirit loadgen`). */
export interface LoadgenDriver {
  kind: "loadgen";
  protocol: LoadgenProtocol;
  server: ServerAddress;
  /** The load; its `seed` is the playbook's seed plus the app's index. */
  workload: LoadgenWorkload;
}

/**
 * A client program the agent runs beside a command app, outside its cgroup (so the client's
 * memory and CPU are not the app's), stopped with it.
 */
export type DriverSettings = (LoadgenDriver | { kind: "argv"; argv: string[] }) & {
  env: Record<string, string>;
  cwd?: string;
};

/** An unmodified program run in a cgroup the agent creates, or an existing cgroup adopted. */
export interface CommandSpec {
  /** What to start; absent when `cgroup.path` adopts an existing cgroup. */
  argv?: string[];
  cwd?: string;
  env: Record<string, string>;
  cgroup: CgroupSettings;
  /** A client run beside the app (a load generator for a server), if any. */
  driver?: DriverSettings;
  throughput: ThroughputSource;
}

/** Per-app bounds the policy must respect (resolved: defaults are 0 and the host capacity). */
export interface AppLimits {
  minCacheBytes: number;
  maxCacheBytes: number;
  minBandwidthBytesPerSec: number;
  maxBandwidthBytesPerSec: number;
}

/** Fields every app has. */
interface AppBase {
  name: string;
  /** Name of the compute host it runs on. */
  host: string;
  limits: AppLimits;
}

/** An app that is one of spirit's far-memory workloads. */
export interface WorkloadApp extends AppBase {
  kind: "workload";
  workload: Workload;
}

/** An app that is an unmodified command, enforced with cgroups. */
export interface CommandApp extends AppBase {
  kind: "command";
  command: CommandSpec;
}

/** Any app, discriminated on `kind`. */
export type App = WorkloadApp | CommandApp;

/** A validated playbook with every unit resolved. */
export interface Playbook {
  name: string;
  description?: string;
  hosts: Record<string, Host>;
  apps: App[];
  policy: Policy;
  epochMs: number;
  /** Total run length, warm-up included; `null` runs until stopped (Ctrl-C, SIGTERM). */
  durationMs: number | null;
  warmupMs: number;
  /** Directory under which each run gets its own directory. */
  output: string;
  /** Seed for the workloads' random generators. */
  seed: number;
  /** How the controller uses SSH. */
  ssh: SshSettings;
}

/** The controller's use of SSH, over all hosts of a playbook. */
export interface SshSettings {
  /**
   * Hosts the controller works on at once over SSH (connecting, deploying, starting, checking,
   * collecting); default DEFAULT_SSH_MAX_PARALLEL.
   */
  maxParallel: number;
}

/**
 * Default of `ssh.maxParallel`: every host at once up to 64, so a cluster of that size starts
 * and is checked in one round; larger ones in waves, which keeps the controller's CPU (an ssh
 * handshake each) and its file descriptors bounded.
 */
export const DEFAULT_SSH_MAX_PARALLEL = 64;
