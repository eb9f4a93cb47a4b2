/**
 * `runPlaybook`: carries out a playbook's plan: start memory servers and agents, launch the
 * apps, warm up, then every epoch collect, estimate, allocate, enforce and record; tear
 * everything down at the end, on Ctrl-C or SIGTERM, and still write the results so far.
 * @module
 */
import type { AppSample } from "../../agent/protocol.ts";
import { closeAll, connectorFor } from "../connectors/connect.ts";
import type { Connector } from "../connectors/types.ts";
import type { ComputeHost, Playbook } from "../playbook/types.ts";
import type { RunEvent } from "../results/types.ts";
import { RunWriter } from "../results/writer.ts";
import type { AgentClient } from "./agent_client.ts";
import { deployRuntime } from "./deploy.ts";
import { encodeHex } from "./hex.ts";
import { RUN_INFO_FILE, type RunInfo } from "./down.ts";
import { AllocationLoop } from "./epoch.ts";
import { type LiveView, liveView } from "./live_view.ts";
import { describePlan, planRun, type RunPlan, toAllocation, withPort } from "./plan.ts";
import { type RunningMemserver, startAgent, startMemserver, stopMemserver } from "./processes.ts";
import { localRuntime, type SpiritRuntime } from "./runtime.ts";

/** How a run reports progress on the terminal. */
export type OutputMode = "live" | "quiet" | "json";

/** Re-attachments to one host's agent before the run gives up on it. */
const MAX_AGENT_RESTARTS = 3;
/** Restarts of one host's memory server before the run gives up. */
const MAX_MEMSERVER_RESTARTS = 3;

/** Options of `runPlaybook`. */
export interface RunOptions {
  dryRun?: boolean;
  output?: OutputMode;
  /** Aborting ends the run early (results so far are still written). */
  signal?: AbortSignal;
  /** Clock and sleep, for tests. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** What a run produced. */
export interface RunResult {
  runDir: string | null;
  epochs: number;
  interrupted: boolean;
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

function runIdFor(playbook: Playbook): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace(
    "T",
    "-",
  );
  const random = crypto.getRandomValues(new Uint8Array(3));
  return `${playbook.name}-${stamp}-${encodeHex(random)}`;
}

function newSecret(): string {
  return encodeHex(crypto.getRandomValues(new Uint8Array(32)));
}

/** Runs a validated playbook; see the module documentation. */
export async function runPlaybook(
  playbook: Playbook,
  options: RunOptions = {},
): Promise<RunResult> {
  const plan = planRun(playbook, runIdFor(playbook));
  if (options.dryRun) {
    console.log(describePlan(playbook, plan));
    return { runDir: null, epochs: 0, interrupted: false };
  }
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? abortableSleep;
  const output = options.output ?? "live";
  const writer = await RunWriter.create(playbook);
  const info: RunInfo = {
    runId: plan.runId,
    hostDir: plan.hostDir,
    startedAt: new Date().toISOString(),
  };
  await Deno.writeTextFile(`${writer.dir}/${RUN_INFO_FILE}`, JSON.stringify(info, null, 2) + "\n");
  const view = liveView(playbook, { mode: output, runDir: writer.dir });
  const event = (e: Omit<RunEvent, "time">) => {
    view.event(e);
    return writer.event({ time: new Date().toISOString(), ...e });
  };
  const session = new RunSession(playbook, plan, { writer, event });
  let epochs = 0;
  let interrupted = false;
  try {
    await session.start();
    const loop = new AllocationLoop(playbook, { now });
    const started = now();
    await event({ kind: "start", message: `run ${plan.runId} started` });
    for (let epoch = 0;; epoch++) {
      const end = started + (epoch + 1) * playbook.epochMs;
      await sleep(end - now(), options.signal);
      if (options.signal?.aborted) {
        interrupted = true;
        break;
      }
      const elapsedMs = now() - started;
      const collectStart = now();
      await session.healMemservers(event);
      const samples = await session.collect(event);
      const collectMs = now() - collectStart;
      const decision = loop.decide({
        epoch,
        elapsedMs,
        warmup: elapsedMs <= playbook.warmupMs,
        samples,
      });
      const enforceStart = now();
      await session.enforce(decision.changes, event);
      const enforceMs = now() - enforceStart;
      const record = decision.record;
      if (record.timings !== undefined) {
        record.timings.collectMs = collectMs;
        record.timings.enforceMs = enforceMs;
        record.timings.totalMs = collectMs + record.timings.estimateMs + record.timings.auctionMs +
          enforceMs;
      }
      await writer.writeEpoch(record);
      view.epoch(record);
      epochs++;
      if (
        playbook.durationMs !== null &&
        now() - started >= playbook.durationMs - playbook.epochMs / 2
      ) break;
    }
  } catch (error) {
    await event({ kind: "fault", message: (error as Error).message }).catch(() => undefined);
    throw error;
  } finally {
    if (interrupted) {
      await event({ kind: "stop", message: "interrupted: tearing down" }).catch(() => undefined);
    }
    await session.teardown(event);
    const result = await writer.finish();
    view.done({ runDir: writer.dir, report: result });
  }
  return { runDir: writer.dir, epochs, interrupted };
}

type Emit = (e: Omit<RunEvent, "time">) => Promise<void>;

/** Waits for every promise, then throws the first rejection, if any. */
async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  for (const outcome of await Promise.allSettled(promises)) {
    if (outcome.status === "rejected") throw outcome.reason;
  }
}

/** The hosts and processes of one run, and their teardown. */
class RunSession {
  readonly #playbook: Playbook;
  readonly #plan: RunPlan;
  readonly #connectors = new Map<string, Connector>();
  readonly #runtimes = new Map<string, SpiritRuntime>();
  readonly #memservers: RunningMemserver[] = [];
  readonly #agents = new Map<string, AgentClient>();
  readonly #sinceSeq = new Map<string, number>();
  readonly #restarts = new Map<string, number>();
  /** The allocation last pushed to each app (for relaunching after an agent restart). */
  readonly #allocations = new Map<string, { cacheMiB: number; bandwidthMbps: number }>();
  readonly #event: Emit;

  constructor(playbook: Playbook, plan: RunPlan, context: { writer: RunWriter; event: Emit }) {
    this.#playbook = playbook;
    this.#plan = plan;
    this.#event = context.event;
  }

  #connector(host: string): Connector {
    const connector = this.#connectors.get(host);
    if (connector === undefined) throw new Error(`No connection to host ${host}`);
    return connector;
  }

  #runtime(host: string): SpiritRuntime {
    return this.#runtimes.get(host) ?? localRuntime();
  }

  /** Connects, deploys, starts memory servers and agents, and launches every app. */
  async start(): Promise<void> {
    const hosts = Object.values(this.#playbook.hosts);
    for (const host of hosts) this.#connectors.set(host.name, connectorFor(host));
    const secret = newSecret();
    const tokenFile = `${this.#plan.hostDir}/memserver.token`;
    // Every host's start settles before a failure propagates, so teardown sees all it started.
    await settleAll(hosts.map(async (host) => {
      const connector = this.#connector(host.name);
      if (host.ssh !== null) this.#runtimes.set(host.name, await deployRuntime(connector));
      await connector.exec(["mkdir", "-p", "-m", "700", this.#plan.hostDir]);
      await connector.exec(["sh", "-c", 'umask 077 && cat > "$1"', "sh", tokenFile], {
        stdin: secret + "\n",
      });
    }));
    for (const plan of this.#plan.memservers) {
      const server = await startMemserver(this.#connector(plan.host), {
        plan,
        runtime: this.#runtime(plan.host),
        tokenFile,
      });
      this.#memservers.push(server);
      await this.#event({
        kind: "start",
        host: plan.host,
        message: `memory server on port ${server.port} (${server.transport})`,
      });
    }
    await settleAll(this.#plan.computes.map(async (compute) => {
      const agent = await startAgent(this.#connector(compute.host), {
        runtime: this.#runtime(compute.host),
        stateDir: `${this.#plan.hostDir}/agent-${compute.host}`,
      });
      this.#agents.set(compute.host, agent);
      await this.#event({
        kind: "start",
        host: compute.host,
        message: `agent attached (daemon pid ${agent.attached.daemonPid})`,
      });
      const memserver = this.#memservers.find((m) => m.plan.host === compute.memoryNode);
      const address = `${memserver?.plan.connectAddress ?? "127.0.0.1"}:${memserver?.port ?? 0}`;
      // Remote swap (remote_swap/, issue 9): the node's swap device on its memory node, up
      // before the apps so command apps swap to it. The agent removes it after the apps at
      // teardown (also on `spirit down`), so teardown needs no call of its own.
      if (compute.remoteSwap !== null) {
        const swap = await agent.request<{ device: string; engine: string; transport: string }>({
          op: "remote-swap-up",
          memserver: address,
          tokenFile,
          sizeBytes: compute.remoteSwap.sizeBytes,
          priority: compute.remoteSwap.priority,
          transport: memserver?.transport === "rdma" ? "rdma" : "tcp",
        }, { timeoutMs: 180_000 });
        await this.#event({
          kind: "start",
          host: compute.host,
          message:
            `remote swap ${swap.device} on ${address} (${swap.transport}, ${swap.engine} engine)`,
        });
      }
      for (const app of compute.apps) {
        await agent.launch(withPort(app.launch, address));
        await this.#event({
          kind: "start",
          host: compute.host,
          app: app.name,
          message: `launched (${app.launch.enforcement})`,
        });
      }
    }));
  }

  /**
   * Re-attaches to a compute node's agent after its session ended (a lost SSH connection, a
   * killed session): the daemon and its apps normally survive; if the daemon died too, a new
   * one is started and the missing apps are relaunched at their last allocation. At most
   * MAX_AGENT_RESTARTS times per host; every attempt is an event.
   */
  async #reattach(host: string): Promise<AgentClient> {
    const attempts = (this.#restarts.get(host) ?? 0) + 1;
    if (attempts > MAX_AGENT_RESTARTS) {
      throw new Error(`agent on ${host} lost ${MAX_AGENT_RESTARTS} times; giving up on it`);
    }
    this.#restarts.set(host, attempts);
    await this.#event({ kind: "fault", host, message: "agent session ended; re-attaching" });
    await this.#agents.get(host)?.close().catch(() => undefined);
    const agent = await startAgent(this.#connector(host), {
      runtime: this.#runtime(host),
      stateDir: `${this.#plan.hostDir}/agent-${host}`,
    });
    this.#agents.set(host, agent);
    const running = new Set(agent.attached.apps.map((a) => a.appId));
    const compute = this.#plan.computes.find((c) => c.host === host);
    const memserver = this.#memservers.find((m) => m.plan.host === compute?.memoryNode);
    const address = `${memserver?.plan.connectAddress ?? "127.0.0.1"}:${memserver?.port ?? 0}`;
    const relaunched: string[] = [];
    for (const app of compute?.apps ?? []) {
      if (running.has(app.name)) continue;
      const bundle = this.#allocations.get(app.name);
      const launch = bundle === undefined
        ? app.launch
        : { ...app.launch, allocation: toAllocation(bundle) };
      await agent.launch(withPort(launch, address));
      relaunched.push(app.name);
    }
    // A new daemon numbers its samples from scratch.
    if (relaunched.length > 0) this.#sinceSeq.delete(host);
    await this.#event({
      kind: "restart",
      host,
      message: `agent re-attached (attempt ${attempts}, daemon pid ${agent.attached.daemonPid})` +
        (relaunched.length > 0 ? `; relaunched ${relaunched.join(", ")}` : ""),
    });
    return agent;
  }

  /**
   * Restarts memory servers that died (on the same port, at most MAX_MEMSERVER_RESTARTS times
   * each) and relaunches the apps that used them (their remote data is gone with the server).
   * Every death and restart is an event; the epochs in between are the recorded gap.
   */
  async healMemservers(event: Emit): Promise<void> {
    for (const [index, server] of this.#memservers.entries()) {
      if (!server.exited) continue;
      const host = server.plan.host;
      const attempts = (this.#restarts.get(`memserver:${host}`) ?? 0) + 1;
      this.#restarts.set(`memserver:${host}`, attempts);
      const status = await server.process.status;
      await event({ kind: "fault", host, message: `memory server exited (status ${status.code})` });
      if (attempts > MAX_MEMSERVER_RESTARTS) {
        throw new Error(`memory server on ${host} died ${attempts} times; giving up`);
      }
      await server.drained;
      const restarted = await startMemserver(this.#connector(host), {
        plan: { ...server.plan, port: server.port },
        runtime: this.#runtime(host),
        tokenFile: `${this.#plan.hostDir}/memserver.token`,
      });
      this.#memservers[index] = restarted;
      await event({
        kind: "restart",
        host,
        message: `memory server restarted on port ${restarted.port} (attempt ${attempts})`,
      });
      for (const compute of this.#plan.computes.filter((c) => c.memoryNode === host)) {
        const agent = this.#agents.get(compute.host);
        if (agent === undefined) continue;
        const address = `${restarted.plan.connectAddress}:${restarted.port}`;
        for (const app of compute.apps.filter((a) => a.launch.enforcement === "farmem")) {
          await agent.request({ op: "stop", appId: app.name }).catch(() => undefined);
          const bundle = this.#allocations.get(app.name);
          const launch = bundle === undefined
            ? app.launch
            : { ...app.launch, allocation: toAllocation(bundle) };
          await agent.launch(withPort(launch, address));
          await event({
            kind: "restart",
            host: compute.host,
            app: app.name,
            message: "relaunched on the restarted memory server",
          });
        }
      }
    }
  }

  /** Samples of every app since the last collection, from all agents in parallel. */
  async collect(event: Emit): Promise<Map<string, AppSample[]>> {
    const byApp = new Map<string, AppSample[]>();
    await Promise.all([...this.#agents].map(async ([host, agent]) => {
      try {
        const live = agent.ended ? await this.#reattach(host) : agent;
        const result = await live.samples(this.#sinceSeq.get(host));
        this.#sinceSeq.set(host, result.lastSeq);
        for (const sample of result.samples) {
          const list = byApp.get(sample.appId) ?? [];
          list.push(sample);
          byApp.set(sample.appId, list);
        }
      } catch (error) {
        await event({
          kind: "gap",
          host,
          message: `no samples this epoch: ${(error as Error).message}`,
        });
      }
    }));
    return byApp;
  }

  /** Pushes changed allocations to the agents, in parallel across hosts and apps. */
  async enforce(
    changes: ReadonlyMap<string, { cacheMiB: number; bandwidthMbps: number }>,
    event: Emit,
  ): Promise<void> {
    const apps = this.#playbook.apps;
    await Promise.all([...this.#agents].map(async ([host, agent]) => {
      // Requests are pipelined on the host's session: one round trip for all its apps.
      await Promise.all(
        apps.filter((a) => a.host === host).map(async (app) => {
          const bundle = changes.get(app.name);
          if (bundle === undefined) return;
          this.#allocations.set(app.name, bundle);
          try {
            await agent.setAllocation(app.name, toAllocation(bundle));
          } catch (error) {
            await event({
              kind: "fault",
              host,
              app: app.name,
              message: `allocation not applied: ${(error as Error).message}`,
            });
          }
        }),
      );
    }));
  }

  /** Stops apps, agents and memory servers and removes the run's files; never throws. */
  async teardown(event: Emit): Promise<void> {
    await Promise.all([...this.#agents].map(async ([host, agent]) => {
      try {
        const result = await agent.teardown({ shutdown: true }) as { stopped?: string[] };
        await event({
          kind: "stop",
          host,
          message: `agent torn down (apps stopped: ${
            result.stopped?.join(", ") || "none"
          }; daemon shut down)`,
        });
      } catch (error) {
        await event({
          kind: "warning",
          host,
          message: `agent teardown: ${(error as Error).message}`,
        });
      }
      await agent.close().catch(() => undefined);
    }));
    for (const server of this.#memservers) {
      const code = await stopMemserver(server).catch(() => -1);
      await event({
        kind: "stop",
        host: server.plan.host,
        message: `memory server stopped (exit ${code})`,
      });
    }
    await Promise.all(
      [...this.#connectors.values()].map((c) =>
        c.exec(["rm", "-rf", this.#plan.hostDir], { check: false }).catch(() => undefined)
      ),
    );
    await closeAll([...this.#connectors.values()]).catch(() => undefined);
  }
}

/** Compute hosts of a playbook. */
export function computeHosts(playbook: Playbook): ComputeHost[] {
  return Object.values(playbook.hosts).filter((h): h is ComputeHost => h.role === "compute");
}

export type { LiveView };
