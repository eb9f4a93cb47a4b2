/**
 * The controller's end of the agent protocol: JSON-lines requests with ids over a spawned
 * `spirit agent` session, responses matched by id, events delivered to listeners.
 * @module
 */
import {
  AGENT_PROTOCOL_VERSION,
  type AgentEvent,
  type AgentMessage,
  type AgentRequest,
  type Allocation,
  type AppId,
  type AppStatus,
  type AttachedEvent,
  type HelloResult,
  type HostFacts,
  type LaunchSpec,
  type SamplesResult,
  type SetAllocationResult,
} from "../../agent/protocol.ts";
import { readLines } from "../../common/lines.ts";
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

type RequestBody = AgentRequest extends infer R ? R extends { id: number } ? Omit<R, "id"> : never
  : never;

interface Pending {
  op: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** One attached agent session. */
export class AgentClient implements AsyncDisposable {
  readonly host: string;
  readonly attached: AttachedEvent;
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
    init: { attached: AttachedEvent; lines: AsyncGenerator<string> },
  ) {
    this.host = host;
    this.#process = process;
    this.attached = init.attached;
    this.#writer = process.stdin.getWriter();
    this.#reader = this.#read(init.lines);
  }

  /** Waits for the agent's `attached` line on a freshly spawned session and says hello. */
  static async attach(
    host: string,
    process: RemoteProcess,
    options: { timeoutMs?: number } = {},
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
      throw new Error(`Agent on ${host} exited (status ${status.code}) before attaching`);
    }
    const attached = JSON.parse(first.value) as AttachedEvent;
    if (attached.event !== "attached") {
      throw new Error(`Agent on ${host}: expected an "attached" line, got ${first.value}`);
    }
    const client = new AgentClient(host, process, { attached, lines });
    await client.request<HelloResult>({ op: "hello", protocolVersion: AGENT_PROTOCOL_VERSION });
    return client;
  }

  async #read(lines: AsyncGenerator<string>): Promise<void> {
    try {
      for await (const line of lines) {
        if (line.trim() === "") continue;
        let message: AgentMessage;
        try {
          message = JSON.parse(line) as AgentMessage;
        } catch {
          this.#emit({ event: "warning", message: `unparsable agent line: ${line.slice(0, 200)}` });
          continue;
        }
        if ("id" in message) {
          const pending = this.#pending.get(message.id);
          if (pending === undefined) continue;
          this.#pending.delete(message.id);
          clearTimeout(pending.timer);
          if (message.ok) pending.resolve(message.result);
          else pending.reject(new AgentRequestError(this.host, pending.op, message.error));
        } else {
          this.#emit(message);
        }
      }
    } finally {
      this.#ended = true;
      this.#failPending(new Error(`Agent session on ${this.host} ended`));
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

  /** Sends one request and resolves with its result. */
  request<T>(body: RequestBody, options: { timeoutMs?: number } = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new Error(`Agent session on ${this.host} is closed`));
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`Agent on ${this.host}: ${body.op} got no answer within ${timeoutMs} ms`));
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

  /** The host's facts. */
  facts(): Promise<HostFacts> {
    return this.request<HostFacts>({ op: "facts" });
  }

  /** Launches an app. */
  launch(app: LaunchSpec): Promise<AppStatus> {
    return this.request<AppStatus>({ op: "launch", app }, { timeoutMs: 120_000 });
  }

  /** Sets an app's allocation. */
  setAllocation(appId: AppId, allocation: Allocation): Promise<SetAllocationResult> {
    return this.request<SetAllocationResult>({ op: "set-allocation", appId, allocation });
  }

  /** Samples newer than `sinceSeq`. */
  samples(sinceSeq?: number): Promise<SamplesResult> {
    return this.request<SamplesResult>(
      sinceSeq === undefined ? { op: "samples" } : { op: "samples", sinceSeq },
    );
  }

  /** Stops every app and removes what the agent created; with `shutdown` the daemon exits. */
  teardown(options: { shutdown?: boolean } = {}): Promise<unknown> {
    return this.request({ op: "teardown", shutdown: options.shutdown ?? false }, {
      timeoutMs: 60_000,
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
