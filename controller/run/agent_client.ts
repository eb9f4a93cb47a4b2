/**
 * The controller's end of the agent protocol: JSON-lines requests with ids over a spawned
 * `spirit agent` session, responses matched by id, events delivered to listeners.
 * @module
 */
import {
  AGENT_PROTOCOL_VERSION,
  type AgentEvent,
  type AgentOp,
  type AgentRequest,
  type AgentResults,
  type Allocation,
  type AllocationStep,
  type AppId,
  type AppStatus,
  type AttachedEvent,
  type HostFacts,
  type LaunchSpec,
  type SamplesResult,
  type SetAllocationResult,
  type SetAllocationsResult,
  type TeardownResult,
} from "../../agent/protocol.ts";
import {
  agentEventSchema,
  attachedEventSchema,
  responseSchema,
  resultSchemas,
} from "../../agent/reply_schema.ts";
import type { z } from "zod";
import { readLines } from "../../common/lines.ts";
import { MalformedReplyError, parseJsonReply, parseReply } from "../../common/reply.ts";
import type { RemoteProcess } from "../connectors/types.ts";

/** A request the agent answered with an error. */
export class AgentRequestError extends Error {
  readonly host: string;
  readonly op: string;
  readonly code: string;
  constructor(host: string, op: string, error: { code: string; message: string }) {
    super(`Agent on ${host}: ${op} failed (${error.code}): ${error.message}`);
    this.name = "AgentRequestError";
    this.host = host;
    this.op = op;
    this.code = error.code;
  }
}

/** The session's stream ended before the agent's first line (`attached`). */
export class AgentExitedError extends Error {
  override name = "AgentExitedError";
}

/** A request the agent did not answer in time (the host may be unreachable). */
export class AgentTimeoutError extends Error {
  readonly host: string;
  readonly op: string;
  readonly timeoutMs: number;
  constructor(host: string, op: string, timeoutMs: number) {
    super(`Agent on ${host}: ${op} got no answer within ${timeoutMs} ms`);
    this.name = "AgentTimeoutError";
    this.host = host;
    this.op = op;
    this.timeoutMs = timeoutMs;
  }
}

type RequestBody = AgentRequest extends infer R ? R extends { id: number } ? Omit<R, "id"> : never
  : never;
/** The request body of one op. */
type RequestFor<Op extends AgentOp> = Extract<RequestBody, { op: Op }>;

interface Pending {
  op: AgentOp;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * How long a teardown may take on a host with a remote swap device: its swapoff reads back every
 * page still on it (on a shared machine also other programs' pages), minutes under load.
 */
export const REMOTE_SWAP_TEARDOWN_TIMEOUT_MS = 15 * 60_000;

/** One attached agent session. */
export class AgentClient implements AsyncDisposable {
  readonly host: string;
  readonly attached: AttachedEvent;
  /** How the session reaches the daemon: its socket directly, or a `spirit agent` relay. */
  readonly via: "socket" | "relay";
  readonly #process: RemoteProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(event: AgentEvent) => void>();
  readonly #reader: Promise<void>;
  #nextId = 1;
  #closed = false;
  #ended = false;

  private constructor(
    host: string,
    process: RemoteProcess,
    init: { attached: AttachedEvent; lines: AsyncGenerator<string>; via: "socket" | "relay" },
  ) {
    this.host = host;
    this.#process = process;
    this.attached = init.attached;
    this.via = init.via;
    this.#writer = process.stdin.getWriter();
    this.#reader = this.#read(init.lines);
  }

  /**
   * Waits for the agent's `attached` line on a freshly spawned session and says hello; with
   * `sampleEvents`, the agent then sends every new sample as a `sample` event.
   */
  static async attach(
    host: string,
    process: RemoteProcess,
    options: { timeoutMs?: number; sampleEvents?: boolean; via?: "socket" | "relay" } = {},
  ): Promise<AgentClient> {
    const lines = readLines(process.stdout);
    const timeoutMs = options.timeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const first = await Promise.race([
      lines.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Agent on ${host}: no "attached" line within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (first.done) {
      const status = await process.status;
      throw new AgentExitedError(
        `Agent on ${host} exited (status ${status.code}) before attaching`,
      );
    }
    const what = `"attached" line from the agent on ${host}`;
    const attached = parseReply(attachedEventSchema, parseJsonReply(first.value, what), what);
    const client = new AgentClient(host, process, {
      attached,
      lines,
      via: options.via ?? "relay",
    });
    await client.request({
      op: "hello",
      protocolVersion: AGENT_PROTOCOL_VERSION,
      ...(options.sampleEvents === true ? { sampleEvents: true } : {}),
    });
    return client;
  }

  /**
   * Reads the session until it ends. Never rejects: a session whose output breaks (a reset
   * connection) ends like one that closed, with the reason in the error its pending requests
   * get; nobody awaits this until close(), so a rejection would be an uncaught error.
   */
  async #read(lines: AsyncGenerator<string>): Promise<void> {
    let reason = "";
    try {
      for await (const line of lines) {
        if (line.trim() === "") continue;
        try {
          this.#dispatch(line);
        } catch (error) {
          if (!(error instanceof MalformedReplyError)) throw error;
          this.#emit({ event: "warning", message: error.message });
        }
      }
    } catch (error) {
      reason = `: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      this.#ended = true;
      this.#failPending(new Error(`Agent session on ${this.host} ended${reason}`));
    }
  }

  /** Routes one line: a response to its request (its result checked), or an event. */
  #dispatch(line: string): void {
    const message = parseJsonReply(line, `line from the agent on ${this.host}`);
    const id = typeof message === "object" && message !== null && "id" in message
      ? message.id
      : undefined;
    if (id === undefined) {
      this.#emit(parseReply(agentEventSchema, message, `event from the agent on ${this.host}`));
      return;
    }
    const pending = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (pending === undefined) {
      parseReply(responseSchema, message, `response from the agent on ${this.host}`);
      return; // an answer to a request that timed out
    }
    this.#pending.delete(id as number);
    clearTimeout(pending.timer);
    const what = `reply to ${pending.op} from the agent on ${this.host}`;
    try {
      const response = parseReply(responseSchema, message, what);
      if (!response.ok) {
        pending.reject(new AgentRequestError(this.host, pending.op, response.error));
        return;
      }
      const schema: z.ZodType<unknown> = resultSchemas[pending.op];
      pending.resolve(parseReply(schema, response.result, what));
    } catch (error) {
      pending.reject(error as Error);
    }
  }

  #emit(event: AgentEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  #failPending(error: Error): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.#pending.delete(id);
    }
  }

  /** True once the session's output ended (connection lost or agent gone). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Calls `listener` with every event (samples, exits, warnings); returns an unsubscribe. */
  onEvent(listener: (event: AgentEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Sends one request and resolves with its result, checked against the op's result schema
   * (a malformed result rejects with a MalformedReplyError naming the field).
   */
  request<Op extends AgentOp>(
    body: RequestFor<Op>,
    options: { timeoutMs?: number } = {},
  ): Promise<AgentResults[Op]> {
    if (this.#closed) return Promise.reject(new Error(`Agent session on ${this.host} is closed`));
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise<AgentResults[Op]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new AgentTimeoutError(this.host, body.op, timeoutMs));
      }, timeoutMs);
      this.#pending.set(id, {
        op: body.op,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer,
      });
      const line = new TextEncoder().encode(JSON.stringify({ ...body, id }) + "\n");
      this.#writer.write(line).catch((error) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(new Error(`Agent on ${this.host}: cannot send ${body.op}`, { cause: error }));
      });
    });
  }

  /**
   * `pending` (a request to this agent), failed with an {@linkcode AgentTimeoutError} as soon as
   * the agent stops answering: while it is pending, every `everyMs` a `list` request must be
   * answered within `everyMs`. A request the agent works on for long (a cache shrink waiting for
   * the write-back of its dirty pages) goes on; one whose host is gone fails within two
   * `everyMs`, so the loop does not wait for the request's own timeout.
   */
  async whileAnswering<T>(pending: Promise<T>, everyMs: number): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = pending.then(() => "settled" as const, () => "settled" as const);
    const watch = async (): Promise<never> => {
      for (;;) {
        const woke = await Promise.race([
          new Promise<"tick">((resolve) => timer = setTimeout(() => resolve("tick"), everyMs)),
          settled,
        ]);
        clearTimeout(timer);
        // Settled: this watch never settles, the race is decided by `pending`.
        if (woke === "settled") return await new Promise<never>(() => {});
        await this.request({ op: "list" }, { timeoutMs: everyMs });
      }
    };
    try {
      return await Promise.race([pending, watch()]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The host's facts. */
  facts(): Promise<HostFacts> {
    return this.request({ op: "facts" });
  }

  /** Launches an app. */
  launch(app: LaunchSpec): Promise<AppStatus> {
    return this.request({ op: "launch", app }, { timeoutMs: 120_000 });
  }

  /** Sets an app's allocation. */
  setAllocation(appId: AppId, allocation: Allocation): Promise<SetAllocationResult> {
    return this.request({ op: "set-allocation", appId, allocation });
  }

  /** Sets several apps' allocations: the shrinks, then (when all were applied) the grows. */
  setAllocations(
    batch: { shrinks: AllocationStep[]; grows: AllocationStep[] },
  ): Promise<SetAllocationsResult> {
    return this.request({ op: "set-allocations", ...batch });
  }

  /**
   * Samples newer than `sinceSeq`; with `fresh`, the agent takes one now when it has none
   * newer (see the `samples` request).
   */
  samples(
    sinceSeq?: number,
    options: { timeoutMs?: number; fresh?: boolean } = {},
  ): Promise<SamplesResult> {
    const { fresh, ...rest } = options;
    return this.request({
      op: "samples",
      ...(sinceSeq === undefined ? {} : { sinceSeq }),
      ...(fresh === true ? { fresh } : {}),
    }, rest);
  }

  /**
   * Stops every app and removes what the agent created; with `shutdown` the daemon exits.
   * `timeoutMs` (default 60 s) bounds the wait: a remote swap device's swapoff reads back every
   * page still on it, which can take minutes.
   */
  teardown(options: { shutdown?: boolean; timeoutMs?: number } = {}): Promise<TeardownResult> {
    return this.request({ op: "teardown", shutdown: options.shutdown ?? false }, {
      timeoutMs: options.timeoutMs ?? 60_000,
    });
  }

  /** Ends the session (the daemon and its apps keep running); idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.close().catch(() => undefined);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ended = await Promise.race([
      this.#process.status.then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 5_000)),
    ]).finally(() => clearTimeout(timer));
    if (!ended) await this.#process.kill("SIGTERM").catch(() => undefined);
    await this.#process.status;
    await this.#reader.catch(() => undefined);
    await this.#process.stderr.cancel().catch(() => undefined);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
