/**
 * Validation of what the agent sends back (pure: zod only): response envelopes, the result of
 * each request op, and events. The controller checks every line with these before using it, so a
 * malformed reply is an error naming the field, never a cast. Objects accept fields they do not
 * know (the protocol adds fields compatibly) and keep them.
 * @module
 */
import type { DeviceStatus } from "../remote_swap/protocol.ts";
import { z } from "zod";
import { phaseName } from "../common/farmem_control.ts";
import type {
  AgentEvent,
  AgentOp,
  AgentResults,
  AppSample,
  AppStatus,
  AttachedEvent,
  HostFacts,
} from "./protocol.ts";

const count = z.number().finite().nonnegative();
const time = z.number().finite();
const integer = z.number().int();

const allocation = z.looseObject({ cacheBytes: count, bandwidthBytesPerSec: count });
const enforceability = z.discriminatedUnion("enforced", [
  z.looseObject({ enforced: z.literal(true), via: z.string() }),
  z.looseObject({ enforced: z.literal(false), reason: z.string() }),
]);
const enforceable = z.looseObject({
  cache: enforceability,
  bandwidthRead: enforceability,
  bandwidthWrite: enforceability,
});
const enforcement = z.enum(["farmem", "cgroup", "cgroup-existing"]);
const appState = z.enum(["starting", "running", "exited", "stopped"]);
const appExit = z.looseObject({ code: integer, signal: z.string().nullable(), atMs: time });
const unavailable = z.looseObject({ available: z.literal(false), reason: z.string() });

/** An {@link AppStatus}. */
export const appStatusSchema = z.looseObject({
  appId: z.string().min(1),
  enforcement,
  state: appState,
  pid: integer.nullable(),
  allocation,
  enforceable,
  cgroups: z.record(z.string(), z.string()),
  launchedAtMs: time,
  exit: appExit.nullable(),
});

const pressure = z.discriminatedUnion("available", [
  z.looseObject({
    available: z.literal(true),
    scope: z.enum(["cgroup", "system"]),
    someAvg10: count,
    fullAvg10: count,
    someTotalUs: count,
    fullTotalUs: count,
  }),
  unavailable,
]);
const mrc = z.discriminatedUnion("available", [
  z.looseObject({
    available: z.literal(true),
    source: z.enum(["farmem", "pebs"]),
    points: z.array(z.tuple([count, z.number().min(0).max(1)])),
  }),
  unavailable,
]);

/** An {@link AppSample}. */
export const appSampleSchema = z.looseObject({
  seq: integer,
  appId: z.string().min(1),
  timeMs: time,
  elapsedMs: time,
  state: appState,
  enforcement,
  allocation,
  enforceable,
  opsTotal: count.nullable(),
  opsPerSec: count.nullable(),
  throughputSource: z.enum(["none", "command", "http", "log", "farmem"]),
  residentBytes: count,
  peakResidentBytes: count.nullable(),
  swapBytes: count,
  swapInBytes: count,
  swapOutBytes: count,
  swapOutEstimated: z.boolean(),
  swapInBytesPerSec: count,
  swapOutBytesPerSec: count,
  majorFaults: count,
  ioReadBytes: count,
  ioWriteBytes: count,
  cpuTimeMs: count.nullable(),
  stallMs: count.nullable(),
  pressure,
  mrc,
  phase: phaseName.exactOptional(),
});

const controllerFacts = z.looseObject({
  version: z.union([z.literal(1), z.literal(2)]),
  mount: z.string(),
});

/** {@link HostFacts}. */
export const hostFactsSchema = z.looseObject({
  protocolVersion: integer,
  agentVersion: z.string(),
  hostname: z.string(),
  kernel: z.looseObject({ release: z.string(), version: z.string() }),
  arch: z.string(),
  cpus: integer.positive(),
  memoryBytes: count,
  pageSizeBytes: integer.positive(),
  cgroup: z.looseObject({
    layout: z.union([z.literal(1), z.literal(2), z.literal("hybrid")]),
    memory: controllerFacts.nullable(),
    io: controllerFacts.nullable(),
    v1Controllers: z.array(z.string()),
    v2Controllers: z.array(z.string()),
    memswAccounting: z.boolean(),
  }),
  psi: z.boolean(),
  swapDevices: z.array(z.looseObject({
    path: z.string(),
    type: z.string(),
    sizeBytes: count,
    usedBytes: count,
    priority: integer,
    device: z.string().nullable(),
  })),
  rdmaDevices: z.array(z.string()),
  hardwarePerfCounters: z.boolean(),
  softwarePerfEvents: z.boolean(),
  cgroupEnforcement: enforceable,
  remoteSwapSupport: z.looseObject({
    devFuse: z.boolean(),
    loopControl: z.enum(["usable", "no-permission", "absent"]),
    fusermount3: z.string().nullable(),
    zswapEnabled: z.boolean().nullable(),
  }),
});

const swapTransport = z.enum(["tcp", "rdma"]);
const swapEngine = z.enum(["c", "ts"]);

/** The result of `remote-swap-up` (remote_swap/protocol.ts `UpResult`). */
const remoteSwapUpSchema = z.looseObject({
  device: z.string(),
  mountpoint: z.string(),
  pid: integer,
  sizeBytes: count,
  transport: swapTransport,
  id: z.string(),
  majorMinor: z.string(),
  priority: integer,
  memserver: z.string(),
  engine: swapEngine,
  enginePid: integer,
});

/** A device's status (`DeviceStatus`); the fields the controller reads are checked. */
const remoteSwapStatusSchema = z.looseObject({
  device: z.string().nullable(),
  bytesRead: count,
  bytesWritten: count,
  remoteBytesInUse: count,
  pid: integer,
  id: z.string(),
  majorMinor: z.string().nullable(),
  mountpoint: z.string(),
  sizeBytes: count,
  transport: swapTransport,
  engine: swapEngine,
  enginePid: integer.nullable(),
  memserver: z.string(),
  priority: integer,
  state: z.string(),
  bytesDiscarded: count,
  lostBytes: count,
  ioErrors: count,
  reconnects: count,
  writeCapBytesPerSec: count.nullable(),
  writeCapWaitMs: z.number().nonnegative(),
  startedAtMs: time,
  guards: z.unknown(),
}) as unknown as z.ZodType<DeviceStatus>;

/** What `remote-swap-down` (and teardown) removed. */
const removedDeviceSchema = z.looseObject({
  id: z.string(),
  device: z.string().nullable(),
  removed: z.array(z.string()),
});

/** The result schema of each request op. */
export const resultSchemas: { [Op in AgentOp]: z.ZodType<AgentResults[Op]> } = {
  hello: z.looseObject({ protocolVersion: integer, agentVersion: z.string(), daemonPid: integer }),
  facts: hostFactsSchema,
  launch: appStatusSchema,
  "set-allocation": z.looseObject({
    app: appStatusSchema,
    applied: z.enum(["immediate", "stepping"]),
  }),
  "set-allocations": z.looseObject({
    outcomes: z.array(
      z.union([
        z.looseObject({
          appId: z.string(),
          round: z.enum(["shrink", "grow"]),
          applied: z.literal(true),
        }),
        z.looseObject({
          appId: z.string(),
          round: z.enum(["shrink", "grow"]),
          applied: z.literal(false),
          error: z.looseObject({ code: z.string(), message: z.string() }),
        }),
      ]),
    ),
  }),
  samples: z.looseObject({ samples: z.array(appSampleSchema), lastSeq: integer }),
  list: z.looseObject({ apps: z.array(appStatusSchema) }),
  stop: z.looseObject({ appId: z.string(), stopped: z.boolean() }),
  teardown: z.looseObject({
    stopped: z.array(z.string()),
    remoteSwap: removedDeviceSchema.nullable().exactOptional(),
    shutdown: z.boolean(),
  }),
  "remote-swap-up": remoteSwapUpSchema,
  "remote-swap-set-write-cap": remoteSwapStatusSchema,
  "remote-swap-down": z.looseObject({ removed: removedDeviceSchema.nullable() }),
};

/** The `attached` line a session sends first. */
export const attachedEventSchema = z.looseObject({
  event: z.literal("attached"),
  protocolVersion: integer,
  agentVersion: z.string(),
  daemonPid: integer,
  daemonStartedAtMs: time,
  apps: z.array(appStatusSchema),
});

/** A {@link RemoteSwapEvent}. */
const remoteSwapEventSchema = z.looseObject({
  event: z.literal("remote-swap"),
  change: z.enum([
    "connection-lost",
    "reconnected",
    "pages-lost",
    "unavailable",
    "worker-failed",
    "engine-exited",
    "daemon-exited",
    "stop-failed",
    "replaced",
    "replace-failed",
    "unsupervised",
  ]),
  device: z.string().nullable(),
  message: z.string(),
  worker: integer.exactOptional(),
  reattached: z.boolean().exactOptional(),
  afterMs: z.number().nonnegative().exactOptional(),
  lostPages: count.exactOptional(),
});

/** Any {@link AgentEvent}. */
export const agentEventSchema = z.discriminatedUnion("event", [
  attachedEventSchema,
  z.looseObject({ event: z.literal("app-exited"), appId: z.string(), exit: appExit }),
  z.looseObject({ event: z.literal("sample"), sample: appSampleSchema }),
  remoteSwapEventSchema,
  z.looseObject({
    event: z.literal("warning"),
    appId: z.string().exactOptional(),
    message: z.string(),
  }),
]);

/** A response envelope (the result is checked per op with {@link resultSchemas}). */
export const responseSchema = z.discriminatedUnion("ok", [
  z.looseObject({ id: integer, ok: z.literal(true), result: z.unknown() }),
  z.looseObject({
    id: integer,
    ok: z.literal(false),
    error: z.looseObject({ code: z.string(), message: z.string() }),
  }),
]);

// Compile-time checks that the schemas produce the protocol's types.
const _sample: z.ZodType<AppSample> = appSampleSchema;
const _status: z.ZodType<AppStatus> = appStatusSchema;
const _facts: z.ZodType<HostFacts> = hostFactsSchema;
const _attached: z.ZodType<AttachedEvent> = attachedEventSchema;
const _event: z.ZodType<AgentEvent> = agentEventSchema;
