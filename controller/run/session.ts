/**
 * The hosts and processes of one run: connect, deploy, start memory servers, agents and apps;
 * heal what died (memory servers, agent sessions, crashed apps) epoch after epoch; collect
 * samples; push allocations; tear everything down. A failure while healing or collecting is an
 * event and the app concerned is marked down: it never ends the run.
 * @module
 */
import type { AgentEvent, AppExit, AppSample } from "../../agent/protocol.ts";
import type { ResourceBytes } from "../auction/units.ts";
import { closeAll } from "../connectors/connect.ts";
import type { Connector } from "../connectors/types.ts";
import type { Playbook } from "../playbook/types.ts";
import { type AgentClient, REMOTE_SWAP_TEARDOWN_TIMEOUT_MS } from "./agent_client.ts";
import { AgentSlot } from "./agent_slot.ts";
import type { RunEdges } from "./edges.ts";
import { agentEventBody, describeExit, type Emit, isCrash, type RunEventBody } from "./events.ts";
import { prepareHostDir, removeHostDir, tokenFileOf } from "./host_dir.ts";
import { newSecret } from "./ids.ts";
import { MemserverSlot } from "./memserver_slot.ts";
import { remoteSwapRemovedBody } from "./remote_swap_events.ts";
import { type AppPlan, type ComputePlan, type RunPlan, withAllocation, withPort } from "./plan.ts";
import type { SpiritRuntime } from "./runtime.ts";

/** Building the swap engine and bringing the device up can take a while on a cold host. */
const REMOTE_SWAP_START_TIMEOUT_MS = 180_000;

/** Relaunches of one app (after crashes or failed relaunches) before the run leaves it down. */
export const MAX_APP_RELAUNCHES = 3;

/** Why an app is down. */
type DownCause =
  /** Its process crashed, or a relaunch failed: relaunched at the next heal. */
  | "crashed"
  /** It exited by itself with status 0: left alone. */
  | "exited"
  /** Its agent cannot be reached: cleared (or relaunched) once the agent is back. */
  | "agent"
  /** Its memory server is down: relaunched once the server is back. */
  | "memserver"
  /** Relaunched MAX_APP_RELAUNCHES times already. */
  | "given-up";

interface DownApp {
  cause: DownCause;
  reason: string;
}

/** What a session needs besides the playbook and the plan. */
export interface SessionContext {
  edges: Pick<RunEdges, "connect" | "runtime">;
  emit: Emit;
  /** The allocation in force for an app (a relaunched app gets it back). */
  allocationOf(app: string): ResourceBytes;
}

/** Waits for every promise, then throws the first rejection, if any. */
async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  for (const outcome of await Promise.allSettled(promises)) {
    if (outcome.status === "rejected") throw outcome.reason;
  }
}

const messageOf = (error: unknown) => error instanceof Error ? error.message : String(error);

/** The processes of one run on its hosts. */
export class RunSession {
  readonly #playbook: Playbook;
  readonly #plan: RunPlan;
  readonly #context: SessionContext;
  readonly #connectors = new Map<string, Connector>();
  readonly #runtimes = new Map<string, SpiritRuntime>();
  readonly #memservers: MemserverSlot[] = [];
  readonly #agents = new Map<string, AgentSlot>();
  readonly #down = new Map<string, DownApp>();
  readonly #relaunches = new Map<string, number>();
  /** Apps the session is stopping itself: their exits are not faults. */
  readonly #stopping = new Set<string>();
  readonly #pending = new Set<Promise<void>>();

  constructor(playbook: Playbook, plan: RunPlan, context: SessionContext) {
    this.#playbook = playbook;
    this.#plan = plan;
    this.#context = context;
  }

  /** Apps that are not running, with the reason. */
  down(): Map<string, string> {
    return new Map([...this.#down].map(([app, d]) => [app, d.reason]));
  }

  /** Resolves once every event raised by agent messages so far is written. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  #emitLater(event: RunEventBody): void {
    const written: Promise<void> = this.#context.emit(event).catch(() => undefined).finally(
      () => this.#pending.delete(written),
    );
    this.#pending.add(written);
  }

  #connector(host: string): Connector {
    const connector = this.#connectors.get(host);
    if (connector === undefined) throw new Error(`No connection to host ${host}`);
    return connector;
  }

  #runtime(host: string): SpiritRuntime {
    const runtime = this.#runtimes.get(host);
    if (runtime === undefined) throw new Error(`No runtime on host ${host}`);
    return runtime;
  }

  #memserverFor(computeHost: string): MemserverSlot | undefined {
    const compute = this.#plan.computes.find((c) => c.host === computeHost);
    return this.#memservers.find((m) => m.host === compute?.memoryNode);
  }

  #launchSpec(app: AppPlan) {
    const address = this.#memserverFor(app.host)?.address ?? "127.0.0.1:0";
    return withPort(withAllocation(app.launch, this.#context.allocationOf(app.name)), address);
  }

  #onAgentEvent(host: string, event: AgentEvent): void {
    if (event.event === "app-exited") {
      if (this.#stopping.has(event.appId)) return;
      this.#markExited(event.appId, event.exit);
    }
    const body = agentEventBody(host, event);
    if (body !== null) this.#emitLater(body);
  }

  #markExited(app: string, exit: AppExit): void {
    this.#down.set(
      app,
      isCrash(exit)
        ? { cause: "crashed", reason: `crashed (${describeExit(exit)})` }
        : { cause: "exited", reason: `exited by itself (${describeExit(exit)})` },
    );
  }

  /** Connects, deploys, starts memory servers and agents, and launches every app. */
  async start(): Promise<void> {
    const hosts = Object.values(this.#playbook.hosts);
    for (const host of hosts) this.#connectors.set(host.name, this.#context.edges.connect(host));
    const secret = newSecret();
    // Every host's start settles before a failure propagates, so teardown sees all it started.
    await settleAll(hosts.map(async (host) => {
      const connector = this.#connector(host.name);
      this.#runtimes.set(host.name, await this.#context.edges.runtime(host, connector));
      await prepareHostDir(connector, { hostDir: this.#plan.hostDir, secret });
    }));
    for (const plan of this.#plan.memservers) {
      const slot = new MemserverSlot(plan, {
        connector: this.#connector(plan.host),
        runtime: this.#runtime(plan.host),
        tokenFile: tokenFileOf(this.#plan.hostDir),
      });
      this.#memservers.push(slot);
      const server = await slot.start();
      await this.#context.emit({
        kind: "start",
        host: plan.host,
        message: `memory server on port ${server.port} (${server.transport})`,
      });
    }
    await settleAll(this.#plan.computes.map(async (compute) => {
      const slot = new AgentSlot(compute.host, {
        connector: this.#connector(compute.host),
        runtime: this.#runtime(compute.host),
        stateDir: `${this.#plan.hostDir}/agent-${compute.host}`,
        onEvent: (event) => this.#onAgentEvent(compute.host, event),
      });
      this.#agents.set(compute.host, slot);
      const client = await slot.attach();
      await this.#context.emit({
        kind: "start",
        host: compute.host,
        message: `agent attached (daemon pid ${client.attached.daemonPid})`,
      });
      if (compute.remoteSwap !== null) await this.#startRemoteSwap(compute, client);
      for (const app of compute.apps) {
        await client.launch(this.#launchSpec(app));
        await this.#context.emit({
          kind: "start",
          host: compute.host,
          app: app.name,
          message: `launched (${app.launch.enforcement})`,
        });
      }
    }));
  }

  /**
   * The node's remote swap device (remote_swap/), on its memory node, up before the apps so that
   * command apps swap to it. The agent removes it after the apps at teardown (and `spirit down`
   * through the agent), so teardown needs no call of its own.
   */
  async #startRemoteSwap(compute: ComputePlan, client: AgentClient): Promise<void> {
    if (compute.remoteSwap === null) return;
    const memserver = this.#memserverFor(compute.host);
    if (memserver === undefined) throw new Error(`No memory server for ${compute.host}`);
    const swap = await client.request({
      op: "remote-swap-up",
      memserver: memserver.address,
      tokenFile: tokenFileOf(this.#plan.hostDir),
      sizeBytes: compute.remoteSwap.sizeBytes,
      priority: compute.remoteSwap.priority,
      transport: memserver.server?.transport === "rdma" ? "rdma" : "tcp",
    }, { timeoutMs: REMOTE_SWAP_START_TIMEOUT_MS });
    await this.#context.emit({
      kind: "start",
      host: compute.host,
      message: `remote swap ${swap.device} on ${memserver.address} (${swap.transport}, ` +
        `${swap.engine} engine)`,
    });
  }

  /**
   * Repairs what died since the last epoch, in order: memory servers (restarted on their port,
   * their far-memory apps relaunched: their remote data died with the server), agent sessions
   * (re-attached; apps the daemon lost are relaunched), then crashed apps. Every fault, restart
   * and failed repair is an event; nothing here throws.
   */
  async heal(): Promise<void> {
    for (const slot of this.#memservers) await this.#healMemserver(slot);
    await Promise.all([...this.#agents.values()].map((slot) => this.#healAgent(slot)));
    for (const compute of this.#plan.computes) {
      for (const app of compute.apps) {
        const down = this.#down.get(app.name);
        if (down?.cause !== "crashed") continue;
        const attempts = (this.#relaunches.get(app.name) ?? 0) + 1;
        if (attempts > MAX_APP_RELAUNCHES) {
          const reason = `${down.reason}; relaunched ${MAX_APP_RELAUNCHES} times already`;
          this.#down.set(app.name, { cause: "given-up", reason });
          await this.#context.emit({
            kind: "fault",
            host: app.host,
            app: app.name,
            message: `${reason}: left down`,
          });
          continue;
        }
        this.#relaunches.set(app.name, attempts);
        await this.#relaunch(app, `relaunched (attempt ${attempts}) after: ${down.reason}`);
      }
    }
  }

  #appsOf(host: string): AppPlan[] {
    return this.#plan.computes.find((c) => c.host === host)?.apps ?? [];
  }

  /** Marks apps down for `cause` unless they are down for a reason of their own already. */
  #markDown(apps: readonly AppPlan[], down: DownApp): void {
    for (const app of apps) {
      const cause = this.#down.get(app.name)?.cause;
      if (cause === undefined || cause === down.cause) this.#down.set(app.name, down);
    }
  }

  async #healMemserver(slot: MemserverSlot): Promise<void> {
    if (!slot.down) return;
    const users = this.#plan.computes.filter((c) => c.memoryNode === slot.host).flatMap((c) =>
      c.apps.filter((a) => a.launch.enforcement === "farmem")
    );
    const status = await slot.takeExitStatus();
    if (status !== null) {
      this.#markDown(users, {
        cause: "memserver",
        reason: `memory server on ${slot.host} is down`,
      });
      await this.#context.emit({
        kind: "fault",
        host: slot.host,
        message: `memory server exited (status ${status})`,
      });
    }
    if (slot.restartsLeft <= 0) return;
    try {
      const server = await slot.restart();
      await this.#context.emit({
        kind: "restart",
        host: slot.host,
        message: `memory server restarted on port ${server.port} (attempt ${slot.restarts})`,
      });
    } catch (error) {
      await this.#context.emit({
        kind: "fault",
        host: slot.host,
        message: `memory server restart failed (attempt ${slot.restarts}${
          slot.restartsLeft <= 0 ? ", the last one" : ""
        }): ${messageOf(error)}`,
      });
      return;
    }
    // Its far-memory apps lost their remote data: whether they crashed or not yet, they start
    // over (this does not count against their relaunches).
    for (const app of users) {
      const cause = this.#down.get(app.name)?.cause;
      if (cause === "exited" || cause === "given-up" || cause === "agent") continue;
      await this.#relaunch(app, "relaunched on the restarted memory server");
    }
  }

  async #healAgent(slot: AgentSlot): Promise<void> {
    if (slot.client !== null || slot.givenUp) return;
    const apps = this.#appsOf(slot.host);
    const reason = `agent on ${slot.host} unreachable`;
    await this.#context.emit({
      kind: "fault",
      host: slot.host,
      message: "agent session ended; re-attaching",
    });
    let client: AgentClient;
    try {
      client = await slot.attach();
    } catch (error) {
      this.#markDown(apps, { cause: "agent", reason });
      await this.#context.emit({
        kind: "fault",
        host: slot.host,
        message: `re-attaching failed${slot.givenUp ? " (given up on this host)" : ""}: ${
          messageOf(error)
        }`,
      });
      return;
    }
    const known = new Map(client.attached.apps.map((a) => [a.appId, a]));
    const lost = apps.filter((a) =>
      !known.has(a.name) && this.#down.get(a.name)?.cause !== "exited"
    );
    await this.#context.emit({
      kind: "restart",
      host: slot.host,
      message:
        `agent re-attached (session ${slot.attachments}, daemon pid ${client.attached.daemonPid})` +
        (lost.length > 0 ? `; relaunching ${lost.map((a) => a.name).join(", ")}` : ""),
    });
    for (const app of apps) {
      const status = known.get(app.name);
      const cause = this.#down.get(app.name)?.cause;
      if (status === undefined) {
        if (cause !== "exited") await this.#relaunch(app, "relaunched: the agent daemon lost it");
      } else if (status.exit !== null && (cause === undefined || cause === "agent")) {
        // It ended while no session listened.
        this.#markExited(app.name, status.exit);
      } else if (status.exit === null && cause === "agent") {
        this.#down.delete(app.name);
      }
    }
  }

  /** Stops what is left of `app` and launches it again at its allocation in force. */
  async #relaunch(app: AppPlan, message: string): Promise<void> {
    const client = this.#agents.get(app.host)?.client ?? null;
    if (client === null) {
      this.#down.set(app.name, { cause: "agent", reason: `agent on ${app.host} unreachable` });
      return;
    }
    // The old process's exit, if it still ran, is the session's own doing, not a fault.
    this.#stopping.add(app.name);
    try {
      await client.request({ op: "stop", appId: app.name }).catch(() => undefined);
      await client.launch(this.#launchSpec(app));
    } catch (error) {
      this.#down.set(app.name, {
        cause: "crashed",
        reason: `relaunch failed: ${messageOf(error)}`,
      });
      await this.#context.emit({
        kind: "fault",
        host: app.host,
        app: app.name,
        message: `relaunch failed: ${messageOf(error)}`,
      });
      return;
    } finally {
      this.#stopping.delete(app.name);
    }
    this.#down.delete(app.name);
    await this.#context.emit({ kind: "restart", host: app.host, app: app.name, message });
  }

  /** Samples of every app since the last collection, from all agents in parallel. */
  async collect(): Promise<Map<string, AppSample[]>> {
    const byApp = new Map<string, AppSample[]>();
    await Promise.all([...this.#agents.values()].map(async (slot) => {
      if (slot.client === null) return;
      try {
        for (const sample of await slot.samples()) {
          const list = byApp.get(sample.appId) ?? [];
          list.push(sample);
          byApp.set(sample.appId, list);
        }
      } catch (error) {
        await this.#context.emit({
          kind: "gap",
          host: slot.host,
          message: `no samples this epoch: ${messageOf(error)}`,
        });
      }
    }));
    return byApp;
  }

  /** Sends `allocation` to the app's agent; rejects when the agent did not apply it. */
  async setAllocation(app: string, allocation: ResourceBytes): Promise<void> {
    const host = this.#playbook.apps.find((a) => a.name === app)?.host;
    const client = host === undefined ? null : this.#agents.get(host)?.client ?? null;
    if (client === null) throw new Error(`no agent session for ${app}`);
    await client.setAllocation(app, allocation);
  }

  /** Stops apps, agents and memory servers and removes the run's files; never throws. */
  async teardown(): Promise<void> {
    for (const app of this.#playbook.apps) this.#stopping.add(app.name);
    await Promise.all([...this.#agents.values()].map(async (slot) => {
      try {
        // A session that ended is re-attached once, so the daemon and its apps still go.
        const client = slot.client ?? await slot.attach();
        const swap = this.#plan.computes.find((c) => c.host === slot.host)?.remoteSwap ?? null;
        // The memory servers stop only after this: a device's swapoff needs them to the end.
        const result = await client.teardown({
          shutdown: true,
          ...(swap === null ? {} : { timeoutMs: REMOTE_SWAP_TEARDOWN_TIMEOUT_MS }),
        });
        await this.#context.emit({
          kind: "stop",
          host: slot.host,
          message: `agent torn down (apps stopped: ${
            result.stopped.join(", ") || "none"
          }; daemon shut down)`,
        });
        const removed = result.remoteSwap ?? null;
        if (removed !== null) await this.#context.emit(remoteSwapRemovedBody(slot.host, removed));
      } catch (error) {
        await this.#context.emit({
          kind: "warning",
          host: slot.host,
          message: `agent teardown: ${messageOf(error)}`,
        });
      }
      await slot.close();
    }));
    for (const slot of this.#memservers) {
      const code = await slot.stop();
      await this.#context.emit({
        kind: "stop",
        host: slot.host,
        message: `memory server stopped (exit ${code})`,
      });
    }
    await Promise.all(
      [...this.#connectors.values()].map((c) => removeHostDir(c, this.#plan.hostDir)),
    );
    await closeAll([...this.#connectors.values()]).catch(() => undefined);
    await this.settled();
  }
}
