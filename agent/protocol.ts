/**
 * The agent protocol: what the controller and a compute-node agent say to each other.
 * Pure types and constants (no I/O); the controller and the agent both import this file.
 *
 * Transport: JSON lines, one object per line, over the stdio of `spirit agent` (locally or carried
 * by `ssh host spirit agent`). There is no network listener. The session process relays lines to
 * a long-lived agent daemon on a root-only Unix socket, so a dropped controller connection does
 * not stop any application: a new `spirit agent` session re-attaches to the same daemon.
 *
 * Conversation:
 * 1. On connect the agent sends one {@link AttachedEvent} (`{"event":"attached",...}`).
 * 2. The controller sends {@link AgentRequest} lines; each carries a numeric `id` chosen by the
 *    controller and gets exactly one {@link AgentResponse} with the same `id` (responses may
 *    arrive out of order relative to events).
 * 3. The agent may send {@link AgentEvent} lines at any time (`event` field, no `id`).
 *
 * Versioning: {@link AGENT_PROTOCOL_VERSION} changes only on incompatible changes. Fields may be
 * added compatibly at any time; readers ignore fields they do not know.
 *
 * Units: bytes, bytes per second, milliseconds; cumulative counters count since the app started.
 * @module
 */
import type { DeviceStatus, RemovedDevice, UpResult } from "../remote_swap/protocol.ts";

/** Version of this protocol; bumped only on incompatible changes. */
export const AGENT_PROTOCOL_VERSION = 1;

/** An application id chosen by the controller: 1-64 of `[A-Za-z0-9_.-]`, unique per agent. */
export type AppId = string;

/** Pattern every {@link AppId} must match (it names the app's cgroup). */
export const APP_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** The resources one application may use on this node. */
export interface Allocation {
  /** Local memory the app may keep resident (the rest lives remotely). */
  cacheBytes: number;
  /** Rate of remote-memory traffic (swap-in, and swap-out where enforceable). */
  bandwidthBytesPerSec: number;
}

/** Where the agent reads an unmodified app's throughput (a cumulative operation count). */
export type ThroughputSource =
  /** No throughput signal; samples report `opsTotal: null`. */
  | { kind: "none" }
  /** Run `argv` once per sample; its stdout's first number is the cumulative op count. */
  | { kind: "command"; argv: string[]; timeoutMs?: number }
  /**
   * GET `url` once per sample (loopback or node-local endpoints). Without `pattern` the body's
   * first number is the cumulative count; with `pattern`, capture group 1 is.
   */
  | { kind: "http"; url: string; pattern?: string; timeoutMs?: number }
  /**
   * Watch output lines: the app's own (`from: "app"`, the default) or its driver's
   * (`from: "driver"`). With a capture group, the last captured number is the cumulative op
   * count; without one, each matching line counts as one op.
   */
  | {
    kind: "log";
    pattern: string;
    stream?: "stdout" | "stderr" | "both";
    from?: "app" | "driver";
  };

/**
 * A client program the agent runs beside a cgroup app (for example a load generator driving
 * an unmodified server): started after the app, outside the app's cgroup (in an unlimited
 * cgroup of its own, `spirit/<appId>+driver`), stopped with the app, its output in
 * `<state-dir>/apps/<appId>.driver.log`. `kind: "spirit"` runs this node's spirit CLI with
 * `args` (e.g. `["loadgen", "memcached", ...]`); `kind: "argv"` runs any program.
 */
export type DriverSpec =
  | (DriverBase & { kind: "argv"; argv: string[] })
  | (DriverBase & { kind: "spirit"; args: string[] });

/** Fields every driver has. */
interface DriverBase {
  /** Extra environment variables for the driver. */
  env?: Record<string, string>;
  /** Working directory of the driver (default: the agent's). */
  cwd?: string;
}

/** Fields every launch spec has. */
interface LaunchBase {
  appId: AppId;
  /** The allocation enforced from the first instruction on. */
  allocation: Allocation;
  /** Extra environment variables for the app. */
  env?: Record<string, string>;
  /** Working directory of the app (default: the agent's). */
  cwd?: string;
}

/** An app built on the far-memory client; limits are set live through its control channel. */
export interface FarmemLaunchSpec extends LaunchBase {
  enforcement: "farmem";
  /**
   * What to run: a spirit workload (`deno run -A host/cli.ts workload <kind> ...args
   * --control unix:PATH`, built by the agent, which listens on PATH) or an explicit argv of any
   * program speaking the far-memory control channel (common/farmem_control.ts) on its stdio.
   */
  program: { kind: "workload"; workload: string; args: string[] } | {
    kind: "argv";
    argv: string[];
  };
}

/** An unmodified command run in a cgroup the agent creates (and removes). */
export interface CgroupCommandLaunchSpec extends LaunchBase {
  enforcement: "cgroup";
  argv: string[];
  throughput?: ThroughputSource;
  /**
   * Swap device(s) whose reads and writes are throttled and measured (at least one). Absent:
   * the node's default, resolved by the agent at launch and again whenever the node's swap
   * devices change: the agent's `--swap-device` list if given, else the node's remote swap
   * device when it has one, else every active swap device.
   */
  swapDevices?: string[];
  /** A client program run beside the app, outside its cgroup; see {@link DriverSpec}. */
  driver?: DriverSpec;
}

/**
 * An existing cgroup (for example a container's) that the agent enforces and monitors but did
 * not start; `path` is relative to the cgroup mount (`/system.slice/docker-abc.scope`).
 * Stopping it releases the limits; its processes are never killed.
 */
export interface CgroupAdoptLaunchSpec extends LaunchBase {
  enforcement: "cgroup-existing";
  path: string;
  /**
   * `command`, `http`, or `log` from its driver (the agent does not see an adopted cgroup's
   * own output).
   */
  throughput?: ThroughputSource;
  /** As for {@link CgroupCommandLaunchSpec.swapDevices}. */
  swapDevices?: string[];
  driver?: DriverSpec;
}

/** What to launch (or adopt) and how to enforce its allocation. */
export type LaunchSpec = FarmemLaunchSpec | CgroupCommandLaunchSpec | CgroupAdoptLaunchSpec;

/** How the app's allocation is enforced. */
export type Enforcement = LaunchSpec["enforcement"];

/** Whether one limit is enforced on this node, and how or why not. */
export type Enforceability =
  | { enforced: true; via: string }
  | { enforced: false; reason: string };

/** Which parts of an allocation this node can actually enforce for one app. */
export interface EnforceableLimits {
  cache: Enforceability;
  /** Remote reads (swap-in, far-memory fetches). */
  bandwidthRead: Enforceability;
  /** Remote writes (swap-out, far-memory write-back). */
  bandwidthWrite: Enforceability;
}

/** A value the node cannot measure, with the reason (never an invented number). */
export interface Unavailable {
  available: false;
  reason: string;
}

/** Memory pressure (Linux PSI) for the app's cgroup, or for the whole system where noted. */
export type PressureReading =
  | {
    available: true;
    /** `cgroup` when measured for the app's cgroup, `system` when only /proc/pressure exists. */
    scope: "cgroup" | "system";
    /** Share of time some task stalled on memory, 10 s average, percent. */
    someAvg10: number;
    fullAvg10: number;
    /** Cumulative stall time in microseconds. */
    someTotalUs: number;
    fullTotalUs: number;
  }
  | Unavailable;

/** A miss-ratio curve or why there is none. */
export type MrcReading =
  | {
    available: true;
    /** `farmem`: the client's online curve; `pebs`: fitted from sampled data addresses. */
    source: "farmem" | "pebs";
    /** [cacheBytes, missRatio] pairs, cache ascending. */
    points: Array<[number, number]>;
  }
  | Unavailable;

/** One app at one instant; the agent takes one per app every sampling interval (1 s). */
export interface AppSample {
  /** Agent-wide sequence number, increasing; use it to fetch only newer samples. */
  seq: number;
  appId: AppId;
  /** Wall-clock time of the sample, Unix epoch milliseconds. */
  timeMs: number;
  /** Milliseconds since the app was launched or adopted. */
  elapsedMs: number;
  state: AppState;
  enforcement: Enforcement;
  /** The allocation currently requested (limits being stepped down still report the target). */
  allocation: Allocation;
  enforceable: EnforceableLimits;
  /** Cumulative operations (null without a throughput source) and the rate since the last sample. */
  opsTotal: number | null;
  opsPerSec: number | null;
  /** Which source `opsTotal` comes from (`farmem`, `log`, `command`, `http`, `none`). */
  throughputSource: ThroughputSource["kind"] | "farmem";
  /** Bytes resident in local memory (cgroup: anonymous + page cache; farmem: cached pages). */
  residentBytes: number;
  /** Highest resident bytes since launch, when the kernel tracks it (cgroup v1, v2 >= 5.19). */
  peakResidentBytes: number | null;
  /** Bytes currently swapped out (cgroup apps; 0 for farmem apps). */
  swapBytes: number;
  /** Cumulative bytes read back from swap or remote memory. */
  swapInBytes: number;
  /** Cumulative bytes written to swap or remote memory; see `swapOutEstimated`. */
  swapOutBytes: number;
  /**
   * True when the kernel does not account swap-out per cgroup (cgroup v1): then `swapOutBytes`
   * is the running maximum of (swap in use + swapped-in bytes), a lower-bound estimate.
   */
  swapOutEstimated: boolean;
  /** Rates over the last interval, bytes per second. */
  swapInBytesPerSec: number;
  swapOutBytesPerSec: number;
  /** Cumulative major page faults (cgroup apps; far-memory misses for farmem apps). */
  majorFaults: number;
  /** Cumulative block I/O of the app on all devices, bytes. */
  ioReadBytes: number;
  ioWriteBytes: number;
  /** CPU time of the app's processes (perf task clock), ms; null when not measurable. */
  cpuTimeMs: number | null;
  /** Far-memory apps: ms stalled on remote memory (fetches and the limiter); null otherwise. */
  stallMs: number | null;
  pressure: PressureReading;
  mrc: MrcReading;
  /**
   * Cumulative memory.stat `workingset_refault_anon` + `_file` of the app's cgroup: evicted
   * pages read back while their shadow entry still existed. Absent where the kernel does not
   * report it (never an invented 0).
   */
  workingsetRefaultTotal?: number;
  /**
   * Cumulative memory.stat `workingset_activate_anon` + `_file`: refaulted pages activated at
   * once because their refault distance fit the working set (they would have stayed resident
   * with about as much memory again). Absent where the kernel does not report it.
   */
  workingsetActivateTotal?: number;
  /**
   * False when this app's swap traffic cannot be attributed to it (no per-cgroup swap counters
   * and no accounted swap device), so `swapInBytes`/`swapOutBytes` stay 0 whatever it swaps;
   * true when they are measured. Absent: the agent does not say, and the controller infers it
   * (controller/estimator/from_agent.ts).
   */
  remoteTrafficMeasurable?: boolean;
  /** The app's current phase, when it reports one (phased far-memory workloads). */
  phase?: string;
}

/** Lifecycle of an app under the agent. */
export type AppState = "starting" | "running" | "exited" | "stopped";

/** An app as listed by the agent. */
export interface AppStatus {
  appId: AppId;
  enforcement: Enforcement;
  state: AppState;
  /** Main process id, when the agent launched it. */
  pid: number | null;
  allocation: Allocation;
  enforceable: EnforceableLimits;
  /** Cgroup path(s) the agent created or adopted, by controller (`memory`, `blkio`, `unified`). */
  cgroups: Record<string, string>;
  launchedAtMs: number;
  exit: AppExit | null;
  /** The app's driver, when it has one: its process id and how it ended. */
  driver?: { pid: number; exit: AppExit | null };
}

/** How an app's process ended. */
export interface AppExit {
  code: number;
  signal: string | null;
  atMs: number;
}

/** An active swap device (from /proc/swaps). */
export interface SwapDeviceFacts {
  path: string;
  type: string;
  sizeBytes: number;
  usedBytes: number;
  priority: number;
  /** `major:minor` of the block device; null for swap files. */
  device: string | null;
}

/** What a remote swap device (a FUSE-backed file on a loop device) needs on a host. */
export interface RemoteSwapSupportFacts {
  /** /dev/fuse exists and is a character device. */
  devFuse: boolean;
  /** /dev/loop-control: `usable` (opens read-write), `no-permission` (not root), `absent`. */
  loopControl: "usable" | "no-permission" | "absent";
  /** Path of fusermount3 (Debian fuse3), or null when it is not installed. */
  fusermount3: string | null;
  /**
   * zswap's `enabled` parameter; null when the kernel has no zswap. Enabled zswap keeps
   * swapped-out pages compressed in local RAM, so they bypass the remote device and its throttles.
   */
  zswapEnabled: boolean | null;
}

/** One cgroup hierarchy's controller as seen by the agent. */
export interface CgroupControllerFacts {
  version: 1 | 2;
  mount: string;
}

/** What the agent found on its host; what the controller plans with. */
export interface HostFacts {
  protocolVersion: number;
  agentVersion: string;
  hostname: string;
  kernel: { release: string; version: string };
  arch: string;
  cpus: number;
  memoryBytes: number;
  pageSizeBytes: number;
  cgroup: {
    /** 2 when only the unified hierarchy exists, 1 when only v1, `hybrid` when both are mounted. */
    layout: 1 | 2 | "hybrid";
    /** The hierarchy holding the memory controller (null when none). */
    memory: CgroupControllerFacts | null;
    /** The hierarchy holding block I/O throttling (v1 `blkio` or v2 `io`). */
    io: CgroupControllerFacts | null;
    /** Controllers of the v1 hierarchies and of the v2 root. */
    v1Controllers: string[];
    v2Controllers: string[];
    /** v1 only: `memory.memsw.limit_in_bytes` exists (swap accounting on). */
    memswAccounting: boolean;
  };
  /** /proc/pressure exists (PSI). Per-cgroup PSI needs cgroup v2. */
  psi: boolean;
  swapDevices: SwapDeviceFacts[];
  /** RDMA devices under /sys/class/infiniband. */
  rdmaDevices: string[];
  hardwarePerfCounters: boolean;
  softwarePerfEvents: boolean;
  /** What a cgroup app's allocation can enforce on this host. */
  cgroupEnforcement: EnforceableLimits;
  /** Prerequisites of a remote swap device. */
  remoteSwapSupport: RemoteSwapSupportFacts;
}

/**
 * The node's remote swap device to start (`remote-swap-up`): a swap device whose pages live on
 * a spirit memory server (remote_swap/, docs/remote_swap.md).
 */
export interface RemoteSwapRequest {
  /** "host:port" of the memory server (protocol version 2). */
  memserver: string;
  /** File on this node holding the memory server's secret. */
  tokenFile: string;
  /** Device size in bytes (only written pages cost the memory server anything). */
  sizeBytes: number;
  /** Default `auto`: RDMA when the memory server offers it, else TCP. */
  transport?: "tcp" | "rdma" | "auto";
  /** swapon priority (default 32000). */
  priority?: number;
  /** Node-level swap-out cap in bytes/s (default none); see `remote-swap-set-write-cap`. */
  writeCapBytesPerSec?: number;
}

/** Requests from the controller; each gets exactly one {@link AgentResponse} with its `id`. */
export type AgentRequest =
  /**
   * Checks the protocol version; answered with {@link HelloResult}. With `sampleEvents`, this
   * connection also receives every new sample as a `sample` event.
   */
  | { id: number; op: "hello"; protocolVersion: number; client?: string; sampleEvents?: boolean }
  /** Answered with {@link HostFacts}. */
  | { id: number; op: "facts" }
  /** Launches (or adopts) an app; answered with its {@link AppStatus}. */
  | { id: number; op: "launch"; app: LaunchSpec }
  /** Sets an app's allocation; raises apply at once, cache shrinks in steps. Answered with {@link SetAllocationResult}. */
  | { id: number; op: "set-allocation"; appId: AppId; allocation: Allocation }
  /**
   * Sets several apps' allocations in one round trip (the controller's enforcement of one node
   * per epoch): every shrink first, in parallel; then, only when every shrink was applied, every
   * grow (grows are planned to fit in what the shrinks free). Answered with
   * {@link SetAllocationsResult}: one outcome per step, failures included (the request itself
   * fails only when it is malformed).
   */
  | { id: number; op: "set-allocations"; shrinks: AllocationStep[]; grows: AllocationStep[] }
  /**
   * Returns stored samples with `seq > sinceSeq` (all retained ones when omitted), optionally
   * for some apps only; answered with {@link SamplesResult}. With `fresh`, an agent that has
   * none newer than `sinceSeq` samples every app first (waiting up to a second for it) and
   * moves its sampling timer half an interval away from this request, so that one collection
   * per epoch finds a sample taken during that epoch.
   */
  | { id: number; op: "samples"; sinceSeq?: number; appIds?: AppId[]; fresh?: boolean }
  /** Answered with `{ apps: AppStatus[] }`. */
  | { id: number; op: "list" }
  /** Stops one app (SIGTERM, then SIGKILL after `graceMs`) and removes its cgroup. Idempotent. */
  | { id: number; op: "stop"; appId: AppId; graceMs?: number }
  /**
   * Stops every app, removes every cgroup the agent made, and forgets all state. Idempotent.
   * With `shutdown`, the agent daemon exits afterwards.
   */
  | { id: number; op: "teardown"; shutdown?: boolean }
  /**
   * Starts the node's remote swap device before the apps (idempotent for the same request);
   * answered with its status (remote_swap/protocol.ts `DeviceStatus`). Cgroup apps without
   * `swapDevices` are then throttled and measured on it. Failures are `remote-swap-failed`.
   */
  | ({ id: number; op: "remote-swap-up" } & RemoteSwapRequest)
  /** Changes the device's node-level swap-out cap live (null removes it); answered with its status. */
  | { id: number; op: "remote-swap-set-write-cap"; bytesPerSec: number | null }
  /**
   * Removes the device (swapoff, loop detach, unmount, daemon exit); answered with
   * `{ removed: RemovedDevice | null }`. Teardown does it too, after stopping the apps.
   */
  | { id: number; op: "remote-swap-down" };

/** The operation names of {@link AgentRequest}. */
export type AgentOp = AgentRequest["op"];

/** Result of `hello`. */
export interface HelloResult {
  protocolVersion: number;
  agentVersion: string;
  daemonPid: number;
}

/** Result of `set-allocation`. */
export interface SetAllocationResult {
  app: AppStatus;
  /** `immediate` when every limit is already in force; `stepping` while a cache shrink proceeds. */
  applied: "immediate" | "stepping";
}

/** One app's new allocation in a `set-allocations` request. */
export interface AllocationStep {
  appId: AppId;
  allocation: Allocation;
}

/**
 * What became of one step of `set-allocations`: applied, failed (`error`), or not attempted
 * (a grow after a failed shrink: `error.code` is `not-attempted`).
 */
export type AllocationStepOutcome =
  & { appId: AppId; round: "shrink" | "grow" }
  & ({ applied: true } | { applied: false; error: { code: string; message: string } });

/** Result of `set-allocations`: the shrinks' outcomes, then the grows', in request order. */
export interface SetAllocationsResult {
  outcomes: AllocationStepOutcome[];
}

/** Result of `samples`. */
export interface SamplesResult {
  samples: AppSample[];
  /** Highest sequence number issued so far (pass it back as `sinceSeq`). */
  lastSeq: number;
}

/** Result of `list`. */
export interface ListResult {
  apps: AppStatus[];
}

/** Result of `stop`. */
export interface StopResult {
  appId: AppId;
  stopped: boolean;
}

/**
 * Result of `teardown`: the apps stopped, the node's remote swap device removed after them (null
 * when it had none), and whether the daemon exits now.
 */
export interface TeardownResult {
  stopped: AppId[];
  remoteSwap?: RemovedDevice | null;
  shutdown: boolean;
}

/** The result type of each request op (what a successful response's `result` holds). */
export interface AgentResults {
  hello: HelloResult;
  facts: HostFacts;
  launch: AppStatus;
  "set-allocation": SetAllocationResult;
  "set-allocations": SetAllocationsResult;
  samples: SamplesResult;
  list: ListResult;
  stop: StopResult;
  teardown: TeardownResult;
  "remote-swap-up": UpResult;
  "remote-swap-set-write-cap": DeviceStatus;
  "remote-swap-down": { removed: RemovedDevice | null };
}

/** Error codes in failed responses. */
export type AgentErrorCode =
  | "bad-request"
  | "version-mismatch"
  | "unknown-app"
  | "app-exists"
  | "not-supported"
  | "launch-failed"
  | "enforcement-failed"
  | "not-attempted"
  | "remote-swap-failed"
  | "internal";

/** The response to one request. */
export type AgentResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: AgentErrorCode; message: string } };

/** Sent once to each new connection. */
export interface AttachedEvent {
  event: "attached";
  protocolVersion: number;
  agentVersion: string;
  daemonPid: number;
  daemonStartedAtMs: number;
  apps: AppStatus[];
}

/** Unsolicited messages from the agent. */
export type AgentEvent =
  | AttachedEvent
  /** An app's process ended (by itself, or after stop/teardown). */
  | { event: "app-exited"; appId: AppId; exit: AppExit }
  /** A new sample (sent to every attached session as it is taken). */
  | { event: "sample"; sample: AppSample }
  /** What happened to the node's remote swap device (see {@link RemoteSwapChange}). */
  | RemoteSwapEvent
  /**
   * Something went wrong outside any request (enforcement step failed, sampler error; `source:
   * "remote-swap"` when supervising the remote swap device did).
   */
  | { event: "warning"; appId?: AppId; source?: "remote-swap"; message: string };

/** What happened to the node's remote swap device, as its supervisor (the agent) saw it. */
export type RemoteSwapChange =
  /** A memory-server connection broke; swap I/O waits while it reconnects. */
  | "connection-lost"
  /** Connected again; `reattached: false` means the server had lost the device's pages. */
  | "reconnected"
  /** Pages stored on the memory server are gone: programs touching them get SIGBUS. */
  | "pages-lost"
  /** No connection within the retry budget: swap I/O fails with EIO until one succeeds. */
  | "unavailable"
  /** An I/O thread of the data path stopped on an unexpected error. */
  | "worker-failed"
  /** The data path (engine) died: every swapped page is lost. */
  | "engine-exited"
  /** The swap daemon died: the data path serves on, unsupervised and without control. */
  | "daemon-exited"
  /** Removing the device failed (swapoff): it stays active. */
  | "stop-failed"
  /** The agent replaced a device whose data path had died with a new one. */
  | "replaced"
  /** Replacing a dead device failed: the node has no remote swap device now. */
  | "replace-failed"
  /** The agent cannot watch or adopt the device. */
  | "unsupervised";

/** One {@link RemoteSwapChange} of the node's remote swap device. */
export interface RemoteSwapEvent {
  event: "remote-swap";
  change: RemoteSwapChange;
  /** The loop device, e.g. /dev/loop3 (null when none is attached). */
  device: string | null;
  message: string;
  /** The I/O thread concerned (connection events). */
  worker?: number;
  /** `reconnected`: whether the server still had the pages; `afterMs`: how long it took. */
  reattached?: boolean;
  afterMs?: number;
  /** `pages-lost`: how many. */
  lostPages?: number;
}

/** Any line the agent writes. */
export type AgentMessage = AgentResponse | AgentEvent;
