/**
 * The control channel between the agent and a far-memory workload process (JSON lines over the
 * workload's stdin and stdout). Pure types and codecs: both sides import this file.
 *
 * The workload prints one `{"event":"ready",...}` line when its client is connected, then
 * answers each request line with exactly one response line carrying the same `id`.
 * @module
 */

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
