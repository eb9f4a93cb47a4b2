/**
 * An app built on the far-memory client: cache capacity and bandwidth are set live through its
 * control channel (common/farmem_control.ts, JSON lines), and its counters, including its online
 * miss-ratio curve, are the metrics. The channel is the child's stdin and stdout, or, for spirit's
 * own workloads when the agent gives a control directory, a Unix socket there that the workload
 * connects to (`--control unix:PATH`): Deno reads stdin on a blocking thread, so every request
 * over stdio costs the workload about twice the CPU (docs/controller_bench.md).
 * @module
 */
import {
  type FarmemReady,
  farmemReadySchema,
  type FarmemRequest,
  type FarmemResponse,
  farmemResponseSchema,
  type FarmemSample,
} from "../../common/farmem_control.ts";
import { readerLines, readLines, writeAll } from "../../common/lines.ts";
import { MalformedReplyError, parseReply } from "../../common/reply.ts";
import type {
  Allocation,
  AppExit,
  AppState,
  AppStatus,
  EnforceableLimits,
  FarmemLaunchSpec,
} from "../protocol.ts";
import type { ManagedApp, RawSample } from "./app.ts";
import { type OutputSink, pumpOutput } from "./output.ts";
import { exitOf, spawnApp } from "./spawn.ts";

/** What a far-memory app needs from its host. */
export interface FarmemAppContext {
  /** argv prefix of a spirit workload, e.g. `deno run -A host/cli.ts workload`. */
  workloadCommand: readonly string[];
  /** Receives the workload's stderr (and its stdout when its control channel is a socket). */
  stderrSink: OutputSink;
  onOutputClosed?: () => void;
  /** Longest wait for the ready line (default 60 s). */
  readyTimeoutMs?: number;
  /** Longest wait for one response (default 5 s). */
  requestTimeoutMs?: number;
  /**
   * A private directory (mode 0700) for the control sockets of spirit's workloads; absent, or a
   * path too long for a socket, and the workload is controlled over its stdio.
   */
  controlDir?: string;
}

/** Longest Unix socket path (sun_path holds 108 bytes with the terminating NUL). */
const MAX_SOCKET_PATH = 107;

/** Sockets named in this process, so relaunched apps never collide. */
let socketCounter = 0;

/** Lines in, lines out: the control channel once it is up. */
interface Channel {
  lines: AsyncGenerator<string>;
  /** Writes one encoded request line. */
  write(bytes: Uint8Array): Promise<void>;
  /** Ends this side of the channel (the workload reads end of file). */
  end(): Promise<void>;
}

/** The limits a far-memory client enforces itself. */
const FARMEM_ENFORCEABLE: EnforceableLimits = {
  cache: { enforced: true, via: "far-memory client page cache capacity (set-limits)" },
  bandwidthRead: { enforced: true, via: "far-memory client token bucket (set-limits)" },
  bandwidthWrite: { enforced: true, via: "far-memory client token bucket (set-limits)" },
};

/**
 * The argv that runs a launch spec's program (pure). Workloads get the initial allocation as
 * `--cache BYTES --bandwidth BYTES_PER_SEC` (bare numbers are bytes and bytes per second).
 */
export function farmemArgv(
  spec: FarmemLaunchSpec,
  workloadCommand: readonly string[],
  control = "stdio",
): string[] {
  if (spec.program.kind === "argv") return [...spec.program.argv];
  return [
    ...workloadCommand,
    spec.program.workload,
    ...spec.program.args,
    "--cache",
    String(Math.floor(spec.allocation.cacheBytes)),
    "--bandwidth",
    String(Math.floor(spec.allocation.bandwidthBytesPerSec)),
    "--control",
    control,
  ];
}

/** A far-memory workload process and its control channel. */
export class FarmemApp implements ManagedApp {
  readonly appId: string;
  readonly exited: Promise<AppExit | null>;
  readonly #child: Deno.ChildProcess;
  /** Resolves once the workload is on its channel (at once over stdio). */
  readonly #channel: Promise<Channel>;
  /** Listens for the workload's control connection until it is made (socket channel only). */
  #listener: Deno.UnixListener | null = null;
  #socket: Deno.UnixConn | null = null;
  readonly #pending = new Map<
    number,
    { op: FarmemRequest["op"]; settle: (response: FarmemResponse | MalformedReplyError) => void }
  >();
  readonly #context: FarmemAppContext;
  readonly #launchedAtMs = Date.now();
  /** Resolves once the workload's output (stderr, and stdout over a socket) is in the sink. */
  readonly #outputDone: Promise<void>;
  #readerDone: Promise<void> = Promise.resolve();
  #nextId = 1;
  #allocation: Allocation;
  #exit: AppExit | null = null;
  #stopped: Promise<void> | null = null;

  private constructor(spec: FarmemLaunchSpec, context: FarmemAppContext) {
    this.appId = spec.appId;
    this.#context = context;
    this.#allocation = spec.allocation;
    const socketPath = spec.program.kind === "workload" && context.controlDir !== undefined
      ? `${context.controlDir}/${Deno.pid}-${++socketCounter}.sock`
      : null;
    const overSocket = socketPath !== null && socketPath.length <= MAX_SOCKET_PATH;
    if (overSocket) this.#listener = Deno.listen({ transport: "unix", path: socketPath });
    this.#child = spawnApp(
      farmemArgv(spec, context.workloadCommand, overSocket ? `unix:${socketPath}` : "stdio"),
      {
        stdin: overSocket ? "null" : "piped",
        ...(spec.env === undefined ? {} : { env: spec.env }),
        ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
      },
    );
    if (this.#listener !== null && socketPath !== null) {
      this.#channel = this.#listener.accept().then((conn) => {
        this.#socket = conn;
        return {
          lines: readerLines(conn),
          write: (bytes: Uint8Array) => writeAll(conn, bytes),
          end: () => conn.closeWrite(),
        };
      }).finally(() => {
        this.#closeListener();
        return Deno.remove(socketPath).catch(() => undefined);
      });
      this.#channel.catch(() => undefined); // awaited (and reported) by #awaitReady and stop
    } else {
      const writer = this.#child.stdin.getWriter();
      this.#channel = Promise.resolve({
        lines: readLines(this.#child.stdout),
        write: (bytes: Uint8Array) => writer.write(bytes),
        end: () => writer.close(),
      });
    }
    // Over a socket channel stdout goes to the same sink as stderr, which closes after both.
    const pump = (name: "stdout" | "stderr", stream: ReadableStream<Uint8Array>) =>
      pumpOutput(stream, { name, sink: context.stderrSink, onLine: () => {} });
    this.#outputDone = Promise.all([
      pump("stderr", this.#child.stderr),
      overSocket ? pump("stdout", this.#child.stdout) : Promise.resolve(),
    ]).then(() => context.onOutputClosed?.());
    this.exited = this.#child.status.then((status) => {
      this.#exit = exitOf(status);
      for (const [id, pending] of this.#pending) {
        pending.settle({ id, ok: false, error: `workload exited (code ${this.#exit.code})` });
      }
      this.#pending.clear();
      return this.#exit;
    });
  }

  /** Starts the workload, waits for its ready line and sets the initial limits. */
  static async launch(spec: FarmemLaunchSpec, context: FarmemAppContext): Promise<FarmemApp> {
    const app = new FarmemApp(spec, context);
    try {
      await app.#awaitReady();
      await app.setAllocation(spec.allocation);
    } catch (error) {
      await app.stop({ graceMs: 0 });
      throw error;
    }
    return app;
  }

  async #awaitReady(): Promise<FarmemReady> {
    const timeoutMs = this.#context.readyTimeoutMs ?? 60_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`No ready line from the workload within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    const exited = this.exited.then((exit) => {
      throw new Error(
        `Workload exited before its ready line (code ${exit?.code}, signal ${exit?.signal})`,
      );
    });
    try {
      const ready = await Promise.race([this.#readReady(), timeout, exited]);
      this.#readerDone = this.#readResponses();
      return ready;
    } finally {
      clearTimeout(timer);
    }
  }

  #closeListener(): void {
    try {
      this.#listener?.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    this.#listener = null;
  }

  async #readReady(): Promise<FarmemReady> {
    const { lines } = await this.#channel;
    for (;;) {
      const next = await lines.next();
      if (next.done) throw new Error("Workload closed its control channel before its ready line");
      const message = parseJson(next.value);
      if (isRecord(message) && message.event === "ready") {
        return parseReply(farmemReadySchema, message, `ready line of workload ${this.appId}`);
      }
    }
  }

  async #readResponses(): Promise<void> {
    const { lines } = await this.#channel;
    try {
      for await (const line of lines) this.#settle(line);
    } catch (error) {
      // A workload that dies with bytes unread resets its socket: the channel ends as with EOF
      // (its exit settles what is pending).
      if (!isConnectionGone(error)) throw error;
    }
  }

  /** Settles the request a response line answers (lines that answer none are ignored). */
  #settle(line: string): void {
    const message = parseJson(line);
    if (!isRecord(message) || typeof message.id !== "number") return;
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    try {
      pending.settle(
        parseReply(
          farmemResponseSchema,
          message,
          `reply to ${pending.op} from workload ${this.appId}`,
        ),
      );
    } catch (error) {
      if (!(error instanceof MalformedReplyError)) throw error;
      pending.settle(error);
    }
  }

  async #request(
    request: DistributiveOmit<FarmemRequest, "id">,
  ): Promise<FarmemResponse> {
    if (this.#exit !== null) throw new Error(`Workload ${this.appId} has exited`);
    const id = this.#nextId++;
    const timeoutMs = this.#context.requestTimeoutMs ?? 5000;
    const response = new Promise<FarmemResponse>((resolve, reject) =>
      this.#pending.set(id, {
        op: request.op,
        settle: (answer) => answer instanceof Error ? reject(answer) : resolve(answer),
      })
    );
    const channel = await this.#channel;
    await channel.write(new TextEncoder().encode(JSON.stringify({ ...request, id }) + "\n"));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new Error(`Workload ${this.appId} did not answer ${request.op} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([response, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #state(): AppState {
    if (this.#stopped !== null) return "stopped";
    return this.#exit === null ? "running" : "exited";
  }

  status(): AppStatus {
    return {
      appId: this.appId,
      enforcement: "farmem",
      state: this.#state(),
      pid: this.#child.pid,
      allocation: this.#allocation,
      enforceable: FARMEM_ENFORCEABLE,
      cgroups: {},
      launchedAtMs: this.#launchedAtMs,
      exit: this.#exit,
    };
  }

  async setAllocation(allocation: Allocation): Promise<"immediate"> {
    const response = await this.#request({
      op: "set-limits",
      cacheBytes: Math.floor(allocation.cacheBytes),
      bandwidthBytesPerSec: Math.floor(allocation.bandwidthBytesPerSec),
    });
    if (!response.ok) {
      throw new Error(`Workload ${this.appId} refused set-limits: ${response.error}`);
    }
    this.#allocation = allocation;
    return "immediate";
  }

  async measure(): Promise<RawSample> {
    const response = await this.#request({ op: "sample" });
    if (!response.ok) throw new Error(`Workload ${this.appId} failed to sample: ${response.error}`);
    if (response.sample === undefined) {
      throw new Error(`Workload ${this.appId} answered sample without one`);
    }
    return toRawSample(this.appId, response.sample, {
      state: this.#state(),
      allocation: this.#allocation,
      launchedAtMs: this.#launchedAtMs,
    });
  }

  stop(options: { graceMs?: number } = {}): Promise<void> {
    this.#stopped ??= this.#stop(options.graceMs ?? 2000);
    return this.#stopped;
  }

  async #stop(graceMs: number): Promise<void> {
    if (this.#exit === null && graceMs > 0) {
      try {
        await Promise.race([this.#request({ op: "stop" }), this.exited]);
      } catch (_error) {
        // The workload did not answer stop in time: it is killed below.
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.exited,
        new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
      ]);
      clearTimeout(timer);
    }
    if (this.#exit === null) {
      try {
        this.#child.kill("SIGKILL");
      } catch (error) {
        if (!(error instanceof TypeError)) throw error;
      }
    }
    await this.exited;
    // A workload that never connected leaves the listener open: closing it ends the wait.
    this.#closeListener();
    const channel = await this.#channel.catch(() => null);
    await channel?.end().catch((error) => {
      // The workload has exited, so its end of the channel may already be closed.
      if (!(error instanceof TypeError || isConnectionGone(error))) throw error;
    });
    await this.#readerDone;
    await channel?.lines.return(undefined);
    try {
      this.#socket?.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    await this.#outputDone;
  }
}

/** Maps a far-memory sample to the agent's sample shape (pure). */
export function toRawSample(
  appId: string,
  sample: FarmemSample,
  options: { state: AppState; allocation: Allocation; launchedAtMs: number },
): RawSample {
  const timeMs = Date.now();
  return {
    appId,
    timeMs,
    elapsedMs: timeMs - options.launchedAtMs,
    state: options.state,
    enforcement: "farmem",
    allocation: options.allocation,
    enforceable: FARMEM_ENFORCEABLE,
    opsTotal: sample.opsTotal,
    throughputSource: "farmem",
    residentBytes: sample.residentBytes,
    peakResidentBytes: null,
    swapBytes: 0,
    swapInBytes: sample.remoteReadBytes,
    swapOutBytes: sample.remoteWriteBytes,
    swapOutEstimated: false,
    majorFaults: sample.misses,
    ioReadBytes: 0,
    ioWriteBytes: 0,
    cpuTimeMs: null,
    stallMs: sample.stallMs,
    pressure: {
      available: false,
      reason: "far-memory app: stalls are reported in stallMs by its client",
    },
    mrc: sample.mrc.length === 0
      ? { available: false, reason: "the far-memory client has no curve yet" }
      : {
        available: true,
        source: "farmem",
        points: sample.mrc.map(([cacheBytes, missRatio]) => [cacheBytes, missRatio]),
      },
    ...(sample.phase === undefined ? {} : { phase: sample.phase }),
  };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (_error) {
    return null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** The peer of a connection is gone: reset, broken pipe, or a resource already closed. */
function isConnectionGone(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.BadResource || error instanceof Deno.errors.NotConnected;
}
