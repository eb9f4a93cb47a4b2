/**
 * The long-lived agent daemon: holds the {@link AgentCore} state and serves the agent protocol
 * (JSON lines) on a Unix socket in its state directory. The directory is created mode 0700 and
 * the socket 0600, so only the daemon's user (root in production) can connect; there is no
 * network listener.
 * Controllers reach it through `spirit agent` sessions (see session.ts), which may come and go:
 * apps keep running under their last allocation until `stop` or `teardown`.
 * @module
 */
import { type AgentConfig, AgentCore } from "./core.ts";
import { detectCgroups } from "./cgroup/mounts.ts";
import { reapOrphanCgroups } from "./cgroup/reap.ts";
import { AGENT_VERSION } from "./host_facts.ts";
import { concatBytes, readerLines, writeAll } from "../common/lines.ts";
import { AGENT_PROTOCOL_VERSION, type AgentEvent, type AgentMessage } from "./protocol.ts";
import { parseAgentRequest } from "./protocol_schema.ts";

/** Default state directory of the agent daemon. */
export const DEFAULT_STATE_DIR = "/run/spirit-agent";

/** The socket path inside a state directory. */
export function socketPath(stateDir: string): string {
  return `${stateDir}/agent.sock`;
}

/** Options of {@link runDaemon}. */
export interface DaemonOptions extends AgentConfig {
  /** Append diagnostics here (default: stderr). */
  logFile?: string;
}

/** Another daemon already serves this state directory. */
export class DaemonRunningError extends Error {
  constructor(path: string) {
    super(`An agent daemon is already listening on ${path}`);
    this.name = "DaemonRunningError";
  }
}

/** A running daemon; `shutdown()` tears down every app and stops serving. */
export interface RunningDaemon {
  readonly core: AgentCore;
  readonly socketPath: string;
  /** Resolves once the daemon has stopped (after a `teardown` with `shutdown`, or shutdown()). */
  readonly done: Promise<void>;
  shutdown(): Promise<void>;
}

/** Starts serving; returns once the socket accepts connections. */
export async function startDaemon(
  options: DaemonOptions,
  /** Where diagnostics go (default: a logger on `options.logFile`). */
  given?: (line: string) => void,
): Promise<RunningDaemon> {
  await Deno.mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  await Deno.chmod(options.stateDir, 0o700);
  const path = socketPath(options.stateDir);
  if (await socketAlive(path)) throw new DaemonRunningError(path);
  await Deno.remove(path).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  const listener = Deno.listen({ transport: "unix", path });
  await Deno.chmod(path, 0o600);
  const pidFile = `${options.stateDir}/agent.pid`;
  await Deno.writeTextFile(pidFile, `${Deno.pid}\n`, { mode: 0o600 });
  const log = given ?? await logger(options.logFile);
  const reaped = await reapOrphanCgroups(await detectCgroups());
  if (reaped.removed.length > 0) {
    log(`removed cgroups left by a previous daemon: ${reaped.removed.join(", ")}`);
  }
  if (reaped.busy.length > 0) {
    log(`cgroups of a previous daemon still hold processes: ${reaped.busy.join(", ")}`);
  }
  const core = new AgentCore(options);
  core.start();
  const connections = new Set<Deno.UnixConn>();
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => resolveDone = resolve);
  let stopping: Promise<void> | null = null;

  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      listener.close();
      try {
        await core.close();
      } catch (error) {
        log(`teardown during shutdown failed: ${(error as Error).message}`);
      }
      for (const conn of connections) closeQuietly(conn);
      for (const file of [path, pidFile]) {
        await Deno.remove(file).catch((error) => {
          if (!(error instanceof Deno.errors.NotFound)) log(`cannot remove ${file}: ${error}`);
        });
      }
      log("agent daemon stopped");
      resolveDone();
    })();
    return stopping;
  };

  const serve = (conn: Deno.UnixConn) => {
    connections.add(conn);
    serveConnection(conn, { core, log, shutdown }).finally(() => {
      connections.delete(conn);
      closeQuietly(conn);
    });
  };
  (async () => {
    try {
      for await (const conn of listener) serve(conn);
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) {
        log(`accept failed: ${(error as Error).message}`);
      }
    }
  })();
  log(`agent daemon ${Deno.pid} listening on ${path}`);
  return { core, socketPath: path, done, shutdown };
}

/** Runs the daemon in the foreground until shutdown (SIGTERM/SIGINT also tear down and exit). */
export async function runDaemon(options: DaemonOptions): Promise<void> {
  // A detached daemon's stderr goes nowhere: what kills it goes to its log first.
  const log = await logger(options.logFile);
  globalThis.addEventListener("unhandledrejection", (event) => {
    const reason = event.reason instanceof Error ? event.reason.stack : String(event.reason);
    log(`exiting on an unhandled rejection: ${reason}`);
  });
  globalThis.addEventListener("error", (event) => {
    log(`exiting on an uncaught error: ${event.error?.stack ?? event.message}`);
  });
  const daemon = await startDaemon(options, log);
  const onSignal = () => void daemon.shutdown();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  await daemon.done;
  Deno.removeSignalListener("SIGTERM", onSignal);
  Deno.removeSignalListener("SIGINT", onSignal);
}

async function serveConnection(
  conn: Deno.UnixConn,
  context: { core: AgentCore; log: (line: string) => void; shutdown: () => Promise<void> },
): Promise<void> {
  const { core } = context;
  const encoder = new TextEncoder();
  let writing = Promise.resolve();
  let open = true;
  // Messages queued while a write is under way (or in the same tick) go out in one write: the
  // samples of one sampling round reach the controller together, never split by a collection.
  let queued: Uint8Array[] = [];
  let next: Promise<void> | null = null;
  const send = (message: AgentMessage): Promise<void> => {
    if (!open) return writing;
    queued.push(encoder.encode(JSON.stringify(message) + "\n"));
    next ??= writing = writing.then(() => {
      next = null;
      const batch = concatBytes(queued);
      queued = [];
      return writeAll(conn, batch);
    }).catch((error) => {
      // The peer went away (broken pipe, reset): stop writing to this connection.
      if (
        !(error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset)
      ) {
        context.log(`write to a session failed: ${(error as Error).message}`);
      }
      open = false;
    });
    return next;
  };
  let sampleEvents = false;
  const unsubscribe = core.subscribe((event: AgentEvent) => {
    if (event.event === "sample" && !sampleEvents) return;
    send(event);
  });
  send({
    event: "attached",
    protocolVersion: AGENT_PROTOCOL_VERSION,
    agentVersion: AGENT_VERSION,
    daemonPid: Deno.pid,
    daemonStartedAtMs: core.startedAtMs,
    apps: core.list(),
  });
  const inFlight = new Set<Promise<void>>();
  try {
    for await (const line of readerLines(conn)) {
      if (line.trim() === "") continue;
      const parsed = parseAgentRequest(line);
      if (!parsed.ok) {
        send({
          id: parsed.id ?? -1,
          ok: false,
          error: { code: "bad-request", message: parsed.message },
        });
        continue;
      }
      const request = parsed.request;
      if (request.op === "hello" && request.sampleEvents === true) sampleEvents = true;
      const task = core.handle(request).then(async (response) => {
        await send(response);
        if (request.op === "teardown" && request.shutdown === true && response.ok) {
          context.log("shutdown requested");
          await context.shutdown();
        }
      });
      inFlight.add(task);
      task.finally(() => inFlight.delete(task));
    }
  } catch (error) {
    if (
      !(error instanceof Deno.errors.BadResource || error instanceof Deno.errors.ConnectionReset)
    ) {
      context.log(`connection failed: ${(error as Error).message}`);
    }
  } finally {
    await Promise.allSettled([...inFlight]);
    unsubscribe();
    await writing;
    open = false;
  }
}

/** True when something accepts connections on the socket `path`. */
export async function socketAlive(path: string): Promise<boolean> {
  try {
    const conn = await Deno.connect({ transport: "unix", path });
    conn.close();
    return true;
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound || error instanceof Deno.errors.ConnectionRefused
    ) return false;
    throw error;
  }
}

function closeQuietly(conn: Deno.UnixConn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

async function logger(logFile: string | undefined): Promise<(line: string) => void> {
  if (logFile === undefined) return (line) => console.error(`spirit agent: ${line}`);
  const file = await Deno.open(logFile, { create: true, append: true, mode: 0o600 });
  const encoder = new TextEncoder();
  return (line) => {
    file.writeSync(encoder.encode(`${new Date().toISOString()} ${line}\n`));
  };
}
