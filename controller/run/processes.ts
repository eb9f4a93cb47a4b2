/**
 * Starting the long-lived processes of a run on their hosts: memory servers (ready line on
 * stdout) and agent sessions (the agent protocol, over the daemon's socket or a relay's stdio).
 * @module
 */
import { z } from "zod";
import { readLines } from "../../common/lines.ts";
import { parseJsonReply, parseReply } from "../../common/reply.ts";
import { ForwardRefusedError } from "../connectors/errors.ts";
import { socketProcess } from "../connectors/socket_process.ts";
import type { Connector, RemoteProcess } from "../connectors/types.ts";
import { AgentClient, AgentExitedError } from "./agent_client.ts";
import { memserverArgs, type MemserverPlan } from "./plan.ts";
import type { SpiritRuntime } from "./runtime.ts";

/** A started memory server. */
export interface RunningMemserver {
  plan: MemserverPlan;
  process: RemoteProcess;
  /** The port it bound. */
  port: number;
  /** Transport it chose (tcp or rdma). */
  transport: string;
  /** Lines it printed after the ready line (statistics), consumed in the background. */
  lines: string[];
  /** Resolves once its stdout ended. */
  drained: Promise<void>;
  /** True once the process has exited (for whatever reason). */
  readonly exited: boolean;
}

/** Collects a process's stderr tail for error messages. */
function tail(
  stream: ReadableStream<Uint8Array>,
  keep = 20,
): { lines: string[]; done: Promise<void> } {
  const lines: string[] = [];
  const done = (async () => {
    for await (const line of readLines(stream)) {
      lines.push(line);
      if (lines.length > keep) lines.shift();
    }
  })().catch(() => undefined);
  return { lines, done };
}

/** Starts `spirit memserver` on its host and waits for the ready line. */
export async function startMemserver(
  connector: Connector,
  { plan, runtime, tokenFile, timeoutMs = 60_000 }: {
    plan: MemserverPlan;
    runtime: SpiritRuntime;
    tokenFile: string;
    timeoutMs?: number;
  },
): Promise<RunningMemserver> {
  const argv = runtime.command([
    "memserver",
    "--listen",
    `${plan.listenAddress}:${plan.port}`,
    ...memserverArgs(plan, tokenFile),
  ]);
  const process = await connector.spawn(argv);
  const stderr = tail(process.stderr);
  const stdout = readLines(process.stdout);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const first = await Promise.race([
    stdout.next(),
    new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  if (first === "timeout" || first.done) {
    await process.kill("SIGTERM").catch(() => undefined);
    const status = await process.status;
    await stderr.done;
    throw new Error(
      `Memory server on ${plan.host} did not start (${
        first === "timeout" ? `no ready line within ${timeoutMs} ms` : `exit ${status.code}`
      }): ${stderr.lines.join(" | ")}`,
    );
  }
  const ready = JSON.parse(first.value) as { event?: string; port?: number; transport?: string };
  if (ready.event !== "ready" || typeof ready.port !== "number") {
    throw new Error(`Memory server on ${plan.host}: unexpected first line ${first.value}`);
  }
  const lines: string[] = [];
  const drained = (async () => {
    for await (const line of stdout) lines.push(line);
  })().catch(() => undefined).then(() => stderr.done);
  let exited = false;
  process.status.then(() => {
    exited = true;
  }, () => {
    exited = true;
  });
  return {
    plan,
    process,
    port: ready.port,
    transport: ready.transport ?? plan.transport,
    lines,
    drained,
    get exited() {
      return exited;
    },
  };
}

/** Stops a memory server (SIGTERM) and waits for it. */
export async function stopMemserver(server: RunningMemserver): Promise<number> {
  await server.process.kill("SIGTERM").catch(() => undefined);
  const status = await server.process.status;
  await server.drained;
  return status.code;
}

/** Connectors whose host refused a direct connection to the agent's socket: relay from then on. */
const relayOnly = new WeakSet<Connector>();

/**
 * Attaches to a host's agent daemon, starting it on demand. When the connector can reach a Unix
 * socket on the host (over SSH, forwarded through the master connection), `spirit agent ensure`
 * starts the daemon and the controller connects to its socket directly; otherwise, or when the
 * host refuses that connection (then for good on this connector), a `spirit agent` session
 * relays between the controller and the daemon (one more process on the host, one more hop
 * for every request).
 */
export async function startAgent(
  connector: Connector,
  { runtime, stateDir, sampleIntervalMs = 1000 }: {
    runtime: SpiritRuntime;
    stateDir: string;
    sampleIntervalMs?: number;
  },
): Promise<AgentClient> {
  const flags = ["--state-dir", stateDir, "--sample-interval", `${sampleIntervalMs}ms`];
  if (connector.connectUnixSocket !== undefined && !relayOnly.has(connector)) {
    const ensured = await connector.exec(runtime.command(["agent", ...flags, "ensure"]), {
      timeoutMs: 60_000,
    });
    const what = `socket line of \`spirit agent ensure\` on ${connector.host}`;
    const { socket } = parseReply(ensuredSchema, parseJsonReply(ensured.stdout.trim(), what), what);
    let process: RemoteProcess | null = null;
    try {
      process = socketProcess(await connector.connectUnixSocket(socket));
      return await AgentClient.attach(connector.host, process, {
        sampleEvents: true,
        via: "socket",
      });
    } catch (error) {
      await process?.kill();
      // The forward was refused, or the stream ended before the daemon's first line (the host
      // refused the connection): the relay it is.
      if (!(error instanceof AgentExitedError || error instanceof ForwardRefusedError)) throw error;
      relayOnly.add(connector);
    }
  }
  const process = await connector.spawn(runtime.command(["agent", ...flags]));
  const stderr = tail(process.stderr);
  try {
    return await AgentClient.attach(connector.host, process, { sampleEvents: true });
  } catch (error) {
    await process.kill("SIGTERM").catch(() => undefined);
    await process.status;
    await stderr.done;
    throw new Error(`${(error as Error).message}: ${stderr.lines.join(" | ")}`, { cause: error });
  }
}

const ensuredSchema = z.object({ socket: z.string().min(1) });
