/**
 * A load generator run: connect, fill the data set (every key stored once, so the server's
 * memory holds it all), then send the zipfian read/write mix on every connection until the
 * duration ends or the run is aborted, reporting cumulative counts at a fixed interval.
 * @module
 */
import { type BatchReplies, connectWithRetry, PipelinedConnection } from "./connection.ts";
import { ByteWriter } from "./byte_writer.ts";
import type { KvProtocol } from "./kv_protocol.ts";
import { memcachedProtocol } from "./memcached_protocol.ts";
import {
  formatServerAddress,
  type LoadgenProtocol,
  type LoadgenWorkload,
  type ServerAddress,
} from "./options.ts";
import { redisProtocol } from "./redis_protocol.ts";
import { keyName, RequestMix, valueOf } from "./request_mix.ts";

/** What to run. */
export interface LoadgenRunOptions {
  protocol: LoadgenProtocol;
  server: ServerAddress;
  workload: LoadgenWorkload;
  /** Length of the measured phase (after the fill); null runs until aborted. */
  durationMs: number | null;
  /** How often a progress line is reported. */
  reportIntervalMs: number;
  /** How long to keep trying to connect while the server starts. */
  connectTimeoutMs: number;
}

/** Cumulative counts of the measured phase. */
export interface LoadgenCounters {
  /** Requests answered without an error (gets and sets). */
  ops: number;
  gets: number;
  hits: number;
  misses: number;
  sets: number;
  /** Requests the server answered with an error (e.g. out of memory). */
  errors: number;
}

/** What a run did (`spirit loadgen --json` prints it). */
export interface LoadgenResult extends LoadgenCounters {
  protocol: LoadgenProtocol;
  server: string;
  keys: number;
  valueBytes: number;
  /** Time the fill took; null without a fill. */
  fillMs: number | null;
  /** Errors while filling (keys the server refused). */
  fillErrors: number;
  /** Length of the measured phase. */
  durationMs: number;
  opsPerSec: number;
  /** The last error message the server sent, if any. */
  lastError: string | null;
}

const PROTOCOLS: Record<LoadgenProtocol, KvProtocol> = {
  memcached: memcachedProtocol,
  redis: redisProtocol,
};

/** The progress line of the measured phase (`^ops (\d+)` is its cumulative count). */
export function formatOpsLine(counters: LoadgenCounters): string {
  return `ops ${counters.ops} gets ${counters.gets} hits ${counters.hits} misses ${counters.misses} ` +
    `sets ${counters.sets} errors ${counters.errors}`;
}

/** Runs the load; `report` receives the progress lines. */
export async function runLoadgen(
  options: LoadgenRunOptions,
  hooks: { report: (line: string) => void; signal?: AbortSignal },
): Promise<LoadgenResult> {
  const { workload } = options;
  const { signal } = hooks;
  const protocol = PROTOCOLS[options.protocol];
  const value = valueOf(workload.valueBytes, workload.seed);
  const connections: PipelinedConnection[] = [];
  let stopping = false;
  let forceClose: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => {
    stopping = true;
    // A batch the server never answers must not hold the exit: close after a grace period.
    forceClose = setTimeout(() => connections.forEach((c) => c.close()), 2000);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  let lastError: string | null = null;
  const noteError = (replies: BatchReplies) => {
    if (replies.lastError !== null) lastError = replies.lastError;
  };
  try {
    for (let i = 0; i < workload.connections; i++) {
      const conn = await connectWithRetry(options.server, {
        timeoutMs: options.connectTimeoutMs,
        ...(signal === undefined ? {} : { signal }),
      });
      connections.push(new PipelinedConnection(conn, protocol));
    }
    const fill = workload.fill && !stopping
      ? await fillKeys(connections, { protocol, workload, value, hooks, noteError, options })
      : null;
    const counters: LoadgenCounters = { ops: 0, gets: 0, hits: 0, misses: 0, sets: 0, errors: 0 };
    hooks.report(formatOpsLine(counters));
    const started = performance.now();
    const endAt = options.durationMs === null ? Infinity : started + options.durationMs;
    const timer = setInterval(
      () => hooks.report(formatOpsLine(counters)),
      options.reportIntervalMs,
    );
    try {
      await Promise.all(connections.map(async (connection, stream) => {
        const mix = new RequestMix(workload, stream);
        const batch = new ByteWriter();
        while (!stopping && performance.now() < endAt) {
          batch.reset();
          let gets = 0;
          for (let i = 0; i < workload.pipeline; i++) {
            const request = mix.next();
            if (request.op === "get") {
              protocol.encodeGet(batch, request.key);
              gets++;
            } else protocol.encodeSet(batch, request.key, value);
          }
          let replies: BatchReplies;
          try {
            replies = await connection.exchange(batch.bytes(), workload.pipeline);
          } catch (error) {
            if (stopping) return;
            throw error;
          }
          noteError(replies);
          counters.gets += gets;
          counters.sets += workload.pipeline - gets;
          counters.hits += replies.hits;
          counters.misses += replies.misses;
          counters.errors += replies.errors;
          counters.ops += replies.hits + replies.misses + replies.stored;
        }
      }));
    } finally {
      clearInterval(timer);
    }
    const durationMs = performance.now() - started;
    hooks.report(formatOpsLine(counters));
    return {
      protocol: options.protocol,
      server: formatServerAddress(options.server),
      keys: workload.keys,
      valueBytes: workload.valueBytes,
      fillMs: fill?.ms ?? null,
      fillErrors: fill?.errors ?? 0,
      durationMs,
      opsPerSec: durationMs > 0 ? counters.ops / (durationMs / 1000) : 0,
      lastError,
      ...counters,
    };
  } finally {
    signal?.removeEventListener("abort", onAbort);
    clearTimeout(forceClose);
    for (const connection of connections) connection.close();
  }
}

/** Stores every key once, connections taking turns over the key space. */
async function fillKeys(
  connections: readonly PipelinedConnection[],
  context: {
    protocol: KvProtocol;
    workload: LoadgenWorkload;
    value: Uint8Array;
    hooks: { report: (line: string) => void; signal?: AbortSignal };
    noteError: (replies: BatchReplies) => void;
    options: LoadgenRunOptions;
  },
): Promise<{ ms: number; errors: number }> {
  const { protocol, workload, value, hooks } = context;
  const started = performance.now();
  const batchSize = Math.max(workload.pipeline, 32);
  let done = 0;
  let errors = 0;
  const timer = setInterval(
    () => hooks.report(`fill ${done} ${workload.keys}`),
    context.options.reportIntervalMs,
  );
  try {
    await Promise.all(connections.map(async (connection, stream) => {
      const batch = new ByteWriter();
      const step = connections.length;
      for (let id = stream; id < workload.keys && !hooks.signal?.aborted;) {
        batch.reset();
        let count = 0;
        for (; count < batchSize && id < workload.keys; count++, id += step) {
          protocol.encodeSet(batch, keyName(id), value);
        }
        let replies: BatchReplies;
        try {
          replies = await connection.exchange(batch.bytes(), count);
        } catch (error) {
          if (hooks.signal?.aborted) return;
          throw error;
        }
        context.noteError(replies);
        errors += replies.errors;
        done += count;
      }
    }));
  } finally {
    clearInterval(timer);
  }
  const ms = performance.now() - started;
  hooks.report(`filled ${done} keys in ${Math.round(ms)} ms (${errors} errors)`);
  return { ms, errors };
}
