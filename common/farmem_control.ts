/**
 * The control channel between the agent and a far-memory workload process (JSON lines over the
 * workload's stdin and stdout). Pure types and schemas: both sides import this file; the agent
 * checks every line a workload sends with the schemas (a malformed one is an error naming the
 * field, never a cast).
 *
 * The workload prints one `{"event":"ready",...}` line when its client is connected, then
 * answers each request line with exactly one response line carrying the same `id`. An unlimited
 * bandwidth travels as `null` (JSON has no Infinity).
 * @module
 */
import { z } from "zod";

/** A request from the agent to a far-memory workload. */
export type FarmemRequest =
  | { id: number; op: "set-limits"; cacheBytes: number; bandwidthBytesPerSec: number }
  | { id: number; op: "sample" }
  | { id: number; op: "stop" };

/** Cumulative counters and current state of one far-memory workload. */
export interface FarmemSample {
  /** Milliseconds since the workload started. */
  elapsedMs: number;
  /** Application operations completed since start (the throughput signal). */
  opsTotal: number;
  accesses: number;
  hits: number;
  misses: number;
  remoteReadBytes: number;
  remoteWriteBytes: number;
  /** Milliseconds spent waiting on remote memory (fetches and the bandwidth limiter). */
  stallMs: number;
  /** Current limits in force. */
  cacheBytes: number;
  bandwidthBytesPerSec: number;
  /** Bytes of pages currently held in the local cache. */
  residentBytes: number;
  /** Online miss-ratio curve, [[cacheBytes, missRatio], ...], cache ascending; empty until known. */
  mrc: Array<[number, number]>;
  /** The workload's current phase (phased workloads only, e.g. "kv" or "stream"). */
  phase?: string;
}

/** A response from the workload; `id` matches the request. */
export type FarmemResponse =
  | { id: number; ok: true; sample?: FarmemSample }
  | { id: number; ok: false; error: string };

/** The first line a workload prints once it is connected and running. */
export interface FarmemReady {
  event: "ready";
  workload: string;
  pid: number;
}

const count = z.number().finite().nonnegative();
/** A phase name: short, printable (it ends up in events and reports). */
export const phaseName = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/);

/** A {@link FarmemSample} (`bandwidthBytesPerSec: null` is unlimited). */
export const farmemSampleSchema = z.looseObject({
  elapsedMs: count,
  opsTotal: count,
  accesses: count,
  hits: count,
  misses: count,
  remoteReadBytes: count,
  remoteWriteBytes: count,
  stallMs: count,
  cacheBytes: count,
  bandwidthBytesPerSec: count.nullable().transform((rate) => rate ?? Number.POSITIVE_INFINITY),
  residentBytes: count,
  mrc: z.array(z.tuple([count, z.number().min(0).max(1)])),
  phase: phaseName.exactOptional(),
});

/** A {@link FarmemResponse}. */
export const farmemResponseSchema = z.discriminatedUnion("ok", [
  z.looseObject({
    id: z.number().int(),
    ok: z.literal(true),
    sample: farmemSampleSchema.exactOptional(),
  }),
  z.looseObject({ id: z.number().int(), ok: z.literal(false), error: z.string() }),
]);

/** The {@link FarmemReady} line. */
export const farmemReadySchema = z.looseObject({
  event: z.literal("ready"),
  workload: z.string(),
  pid: z.number().int(),
});

// Compile-time checks that the schemas produce the channel's types.
const _sample: z.ZodType<FarmemSample, unknown> = farmemSampleSchema;
const _response: z.ZodType<FarmemResponse, unknown> = farmemResponseSchema;
const _ready: z.ZodType<FarmemReady, unknown> = farmemReadySchema;
