/**
 * The hosts and processes of one run: connect, deploy, start memory servers, agents and apps;
 * heal what died (memory servers, agent sessions, crashed apps) epoch after epoch; collect
 * samples; push allocations; tear everything down. A failure while healing or collecting is an
 * event (`details.fault` names its kind, see events.ts) and the apps concerned are marked down:
 * it never ends the run. A failure while starting does, after tearing down what had started.
 * @module
 */
import type { AgentEvent, AppExit, AppSample } from "../../agent/protocol.ts";
import type { ResourceBytes } from "../auction/units.ts";
import { closeAll } from "../connectors/connect.ts";
import { mapLimited } from "../connectors/limit.ts";
import type { Connector } from "../connectors/types.ts";
import type { Playbook } from "../playbook/types.ts";
import {
  type AgentClient,
  AgentTimeoutError,
  REMOTE_SWAP_TEARDOWN_TIMEOUT_MS,
} from "./agent_client.ts";
import { AgentSlot } from "./agent_slot.ts";
import type { EnforcementStep } from "./allocation_state.ts";
import { type StepResult, stepResultsOf } from "./enforce.ts";
import type { RunEdges } from "./edges.ts";
import {
  agentEventBody,
  describeExit,
  type Emit,
  faultDetails,
  type FaultSlug,
  isCrash,
  type RunEventBody,
} from "./events.ts";
import { prepareHostDir, removeHostDir, tokenFileOf } from "./host_dir.ts";
import { newSecret } from "./ids.ts";
import { MemserverSlot } from "./memserver_slot.ts";
import { remoteSwapRemovedBody } from "./remote_swap_events.ts";
import { type AppPlan, type ComputePlan, type RunPlan, withAllocation, withPort } from "./plan.ts";
import type { SpiritRuntime } from "./runtime.ts";
import { StartError, startStep } from "./start_error.ts";

/** Building the swap engine and bringing the device up can take a while on a cold host. */
const REMOTE_SWAP_START_TIMEOUT_MS = 180_000;

/**
 * Relaunches of one app in a row (after crashes or failed relaunches) before the run leaves it
 * down. The count starts over once the app has run for STREAK_RESET_EPOCHS epochs, so an app
 * that crashes now and then over a long run is relaunched every time.
 */
export const MAX_APP_RELAUNCHES = 3;

/** Epochs an app must run after a relaunch before its relaunch count starts over. */
export const STREAK_RESET_EPOCHS = 3;

/** Default longest wait for an agent's answer that should come at once (samples, attach). */
export const DEFAULT_RESPONSE_TIMEOUT_MS = 5_000;

/** Why an app is down. */
type DownCause =
  /** Its process crashed, or a relaunch failed: relaunched at the next heal. */
  | "crashed"
  /** It holds no allocation any more: the loop relaunches it at its share (`relaunchAt`). */
  | "returning"
  /** It exited by itself with status 0: left alone. */
  | "exited"
  /** Its agent cannot be reached: cleared (or relaunched) once the agent is back. */
  | "agent"
  /** Its memory server is down: relaunched once the server is back. */
  | "memserver"
  /** Relaunched MAX_APP_RELAUNCHES times in a row already. */
  | "given-up";

/** Causes for which the app's process is known to be gone. */
const GONE: ReadonlySet<DownCause> = new Set(["crashed", "exited", "given-up"]);

interface DownApp {
  cause: DownCause;
  reason: string;
  /** The restart event's message once a returning app is relaunched. */
  relaunchMessage?: string;
}

/** What is known about a host's agent that is lost or not answering. */
interface Outage {
  /** The fault that opened it has been reported: later symptoms are warnings. */
  unreachableReported: boolean;
}

/** A relaunch at the loop's allocation failed (the session reported it as a fault already). */
export class RelaunchError extends Error {
  readonly app: string;
  constructor(app: string, message: string) {
    super(message);
    this.name = "RelaunchError";
    this.app = app;
  }
}

/** What a session needs besides the playbook and the plan. */
export interface SessionContext {
  edges: Pick<RunEdges, "connect" | "runtime">;
  emit: Emit;
  /**
   * The allocation in force for an app (a relaunched app gets it back); null when it holds
   * none (its process was gone and its share went to the others): its relaunch then waits for
   * the loop to give it a share again (`returning()`, `relaunchAt()`).
   */
  allocationOf(app: string): ResourceBytes | null;
  /** The controller's wall clock, ms (default Date.now): when pushed samples arrived. */
  wallTime?: () => number;
  /**
   * Longest wait (real time) for an agent's answer that should come at once, samples and
   * re-attachment, before the loop goes on without it (default DEFAULT_RESPONSE_TIMEOUT_MS).
   */
  responseTimeoutMs?: number;
  /** Agents collected from at once (the playbook's `ssh.maxParallel`; default all). */
  maxParallel?: number;
  /** Measures the start-up's steps (default: performance.now). */
  stopwatch?: () => number;
}

const messageOf = (error: unknown) => error instanceof Error ? error.message : String(error);

/** The processes of one run on its hosts. */
export class RunSession {
  readonly #playbook: Playbook;
  readonly #plan: RunPlan;
  readonly #context: SessionContext;
  readonly #sampleAges = new Map<string, number>();
  readonly #responseTimeoutMs: number;
  readonly #connectors = new Map<string, Connector>();
  readonly #runtimes = new Map<string, SpiritRuntime>();
  readonly #memservers: MemserverSlot[] = [];
  readonly #agents = new Map<string, AgentSlot>();
  /** The daemon pid each host's agent last attached to. */
  readonly #daemonPids = new Map<string, number>();
  /** Hosts whose agent session is lost or whose agent does not answer. */
  readonly #outages = new Map<string, Outage>();
  readonly #down = new Map<string, DownApp>();
  readonly #relaunches = new Map<string, number>();
  /** Heals each app has been up for in a row. */
  readonly #upHeals = new Map<string, number>();
  /** Apps the session is stopping itself: their exits are not faults. */
  readonly #stopping = new Set<string>();
  readonly #pending = new Set<Promise<void>>();

  constructor(playbook: Playbook, plan: RunPlan, context: SessionContext) {
    this.#playbook = playbook;
    this.#plan = plan;
    this.#context = context;
    this.#responseTimeoutMs = context.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
  }

  /** Apps that are not running, with the reason. */
  down(): Map<string, string> {
    return new Map([...this.#down].map(([app, d]) => [app, d.reason]));
  }

  /** Apps whose process is gone (crashed, exited, left down): they hold no allocation. */
  away(): Set<string> {
    return new Set([...this.#down].filter(([, d]) => GONE.has(d.cause)).map(([app]) => app));
  }

  /** Apps to relaunch once the loop gives them a share of their node (`relaunchAt`). */
  returning(): Set<string> {
    return new Set([...this.#down].filter(([, d]) => d.cause === "returning").map(([a]) => a));
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

  #fault(
    fault: FaultSlug,
    event: Omit<RunEventBody, "kind" | "details">,
    details?: Record<string, unknown>,
  ): Promise<void> {
    return this.#context.emit({ kind: "fault", ...event, details: faultDetails(fault, details) });
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

  #launchSpec(app: AppPlan, allocation: ResourceBytes) {
    const address = this.#memserverFor(app.host)?.address ?? "127.0.0.1:0";
    return withPort(withAllocation(app.launch, allocation), address);
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

  /**
   * Connects, deploys, starts memory servers and agents, and launches every app. Every host's
   * steps settle before a failure is thrown, so teardown sees all that started.
   * @throws {StartError} naming each step that failed (host, what, why).
   */
  async start(): Promise<void> {
    const stopwatch = this.#context.stopwatch ?? (() => performance.now());
    const started = stopwatch();
    const hosts = Object.values(this.#playbook.hosts);
    for (const host of hosts) this.#connectors.set(host.name, this.#context.edges.connect(host));
    const secret = newSecret();
    await StartError.settle(hosts.map(async (host) => {
      const connector = this.#connector(host.name);
      const runtime = await startStep(
        host.name,
        host.ssh === null ? "preparing spirit" : "deploying spirit",
        () => this.#context.edges.runtime(host, connector),
      );
      this.#runtimes.set(host.name, runtime);
      await startStep(
        host.name,
        `creating ${this.#plan.hostDir}`,
        () => prepareHostDir(connector, { hostDir: this.#plan.hostDir, secret }),
      );
    }));
    const prepared = stopwatch();
    for (const plan of this.#plan.memservers) {
      const slot = new MemserverSlot(plan, {
        connector: this.#connector(plan.host),
        runtime: this.#runtime(plan.host),
        tokenFile: tokenFileOf(this.#plan.hostDir),
      });
      this.#memservers.push(slot);
      const server = await startStep(plan.host, "starting the memory server", () => slot.start());
      await this.#context.emit({
        kind: "start",
        host: plan.host,
        message: `memory server on port ${server.port} (${server.transport})`,
      });
    }
    const served = stopwatch();
    await StartError.settle(this.#plan.computes.map(async (compute) => {
      const slot = new AgentSlot(compute.host, {
        connector: this.#connector(compute.host),
        runtime: this.#runtime(compute.host),
        stateDir: `${this.#plan.hostDir}/agent-${compute.host}`,
        onEvent: (event) => this.#onAgentEvent(compute.host, event),
        wallTime: this.#context.wallTime ?? Date.now,
      });
      this.#agents.set(compute.host, slot);
      const client = await startStep(compute.host, "starting the agent", () => slot.attach());
      this.#daemonPids.set(compute.host, client.attached.daemonPid);
      await this.#context.emit({
        kind: "start",
        host: compute.host,
        message: `agent attached (daemon pid ${client.attached.daemonPid}, ${viaText(client)})`,
      });
      if (compute.remoteSwap !== null) await this.#startRemoteSwap(compute, client);
      for (const app of compute.apps) {
        await startStep(
          compute.host,
          `launching app ${app.name}`,
          () => client.launch(this.#launchSpec(app, app.launch.allocation)),
        );
        await this.#context.emit({
          kind: "start",
          host: compute.host,
          app: app.name,
          message: `launched (${app.launch.enforcement})`,
        });
      }
    }));
    const startup = {
      hostsMs: Math.round(prepared - started),
      memserversMs: Math.round(served - prepared),
      agentsMs: Math.round(stopwatch() - served),
    };
    await this.#context.emit({
      kind: "info",
      message: `started in ${startup.hostsMs + startup.memserversMs + startup.agentsMs} ms: ` +
        `hosts connected, spirit deployed and run directories made in ${startup.hostsMs} ms, ` +
        `memory servers in ${startup.memserversMs} ms, agents and apps in ${startup.agentsMs} ms`,
      details: { startup },
    });
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
      for (const app of compute.apps) await this.#healApp(app);
    }
  }

  async #healApp(app: AppPlan): Promise<void> {
    const down = this.#down.get(app.name);
    if (down === undefined) {
      const up = (this.#upHeals.get(app.name) ?? 0) + 1;
      this.#upHeals.set(app.name, up);
      if (up >= STREAK_RESET_EPOCHS) this.#relaunches.delete(app.name);
      return;
    }
    this.#upHeals.set(app.name, 0);
    if (down.cause !== "crashed") return;
    const attempts = (this.#relaunches.get(app.name) ?? 0) + 1;
    if (attempts > MAX_APP_RELAUNCHES) {
      const reason = `${down.reason}; relaunched ${MAX_APP_RELAUNCHES} times in a row already`;
      this.#down.set(app.name, { cause: "given-up", reason });
      await this.#fault("app-given-up", {
        host: app.host,
        app: app.name,
        message: `${reason}: left down`,
      });
      return;
    }
    this.#relaunches.set(app.name, attempts);
    await this.#relaunch(app, `relaunched (attempt ${attempts}) after: ${down.reason}`);
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
      await this.#fault("memserver-exited", {
        host: slot.host,
        message: `memory server exited (status ${status})`,
      }, { status });
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
      await this.#fault("memserver-restart-failed", {
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
      if (cause === "returning") continue; // relaunched by the loop, on the new server
      await this.#relaunch(app, "relaunched on the restarted memory server");
    }
  }

  /**
   * Opens (or continues) an outage of `host`'s agent: the first report of it is a fault, later
   * ones a warning (`repeat: "warn"`, a failed re-attachment) or nothing (a collection that
   * got no answer again).
   */
  async #unreachable(
    host: string,
    message: string,
    { repeat }: { repeat: "warn" | "silent" },
  ): Promise<void> {
    const outage = this.#outages.get(host) ?? { unreachableReported: false };
    this.#outages.set(host, outage);
    this.#markDown(this.#appsOf(host), {
      cause: "agent",
      reason: `agent on ${host} unreachable`,
    });
    if (outage.unreachableReported) {
      if (repeat === "warn") {
        await this.#context.emit({
          kind: "warning",
          host,
          message: `still unreachable: ${message}`,
        });
      }
      return;
    }
    outage.unreachableReported = true;
    await this.#fault("host-unreachable", { host, message });
  }

  async #healAgent(slot: AgentSlot): Promise<void> {
    if (slot.client !== null) return;
    if (!this.#outages.has(slot.host)) {
      this.#outages.set(slot.host, { unreachableReported: false });
      await this.#fault("agent-lost", {
        host: slot.host,
        message: "agent session ended; re-attaching",
      });
    }
    // A fresh attempt gets the usual answer time; one under way since an earlier epoch is
    // only checked, so an unreachable host does not hold up every epoch.
    const outcome = await slot.reattach(slot.failures === 0 ? this.#responseTimeoutMs : 0);
    if (outcome === null) {
      this.#markDown(this.#appsOf(slot.host), {
        cause: "agent",
        reason: `agent on ${slot.host} unreachable`,
      });
      return;
    }
    if (!outcome.ok) {
      await this.#unreachable(
        slot.host,
        `re-attaching failed (${slot.failures} in a row; retried): ${messageOf(outcome.error)}`,
        { repeat: "warn" },
      );
      return;
    }
    this.#outages.delete(slot.host);
    const client = outcome.client;
    const apps = this.#appsOf(slot.host);
    const known = new Map(client.attached.apps.map((a) => [a.appId, a]));
    const keep = (app: AppPlan) => {
      const cause = this.#down.get(app.name)?.cause;
      return cause === "exited" || cause === "given-up";
    };
    const lost = apps.filter((a) => !known.has(a.name) && !keep(a));
    const previousPid = this.#daemonPids.get(slot.host);
    this.#daemonPids.set(slot.host, client.attached.daemonPid);
    if (previousPid !== undefined && previousPid !== client.attached.daemonPid) {
      await this.#fault("agent-daemon-lost", {
        host: slot.host,
        message: `the agent daemon (pid ${previousPid}) is gone, and the apps it ran with it; ` +
          `a new daemon (pid ${client.attached.daemonPid}) took over`,
      }, { previousPid, daemonPid: client.attached.daemonPid });
    }
    await this.#context.emit({
      kind: "restart",
      host: slot.host,
      message:
        `agent re-attached (session ${slot.attachments}, daemon pid ${client.attached.daemonPid}, ${
          viaText(client)
        })` +
        (lost.length > 0 ? `; relaunching ${lost.map((a) => a.name).join(", ")}` : ""),
    });
    for (const app of apps) {
      const status = known.get(app.name);
      const cause = this.#down.get(app.name)?.cause;
      if (status === undefined) {
        if (!keep(app)) await this.#relaunch(app, "relaunched: the agent daemon lost it");
      } else if (status.exit !== null && (cause === undefined || cause === "agent")) {
        // It ended while no session listened.
        this.#markExited(app.name, status.exit);
        const body = agentEventBody(slot.host, {
          event: "app-exited",
          appId: app.name,
          exit: status.exit,
        });
        if (body !== null) await this.#context.emit(body);
      } else if (status.exit === null && cause === "agent") {
        this.#down.delete(app.name);
      }
    }
  }

  /**
   * Relaunches `app` at its allocation in force; one that holds none waits for the loop to
   * give it a share (`returning`).
   */
  async #relaunch(app: AppPlan, message: string): Promise<void> {
    const client = this.#agents.get(app.host)?.client ?? null;
    if (client === null) {
      this.#down.set(app.name, { cause: "agent", reason: `agent on ${app.host} unreachable` });
      return;
    }
    const allocation = this.#context.allocationOf(app.name);
    if (allocation === null) {
      const reason = this.#down.get(app.name)?.reason ?? "down";
      this.#down.set(app.name, {
        cause: "returning",
        reason: `${reason}; relaunching when its node has room again`,
        relaunchMessage: message,
      });
      return;
    }
    await this.#launch(app, allocation, message);
  }

  /** Stops what is left of `app` and launches it at `allocation`; false when that failed. */
  async #launch(app: AppPlan, allocation: ResourceBytes, message: string): Promise<boolean> {
    const client = this.#agents.get(app.host)?.client ?? null;
    if (client === null) {
      this.#down.set(app.name, { cause: "agent", reason: `agent on ${app.host} unreachable` });
      return false;
    }
    // The old process's exit, if it still ran, is the session's own doing, not a fault.
    this.#stopping.add(app.name);
    try {
      await client.request({ op: "stop", appId: app.name }).catch(() => undefined);
      await client.launch(this.#launchSpec(app, allocation));
    } catch (error) {
      const reason = `relaunch failed: ${messageOf(error)}`;
      this.#down.set(app.name, { cause: "crashed", reason });
      await this.#fault("relaunch-failed", { host: app.host, app: app.name, message: reason });
      return false;
    } finally {
      this.#stopping.delete(app.name);
    }
    this.#down.delete(app.name);
    await this.#context.emit({ kind: "restart", host: app.host, app: app.name, message });
    return true;
  }

  /**
   * Relaunches a returning app at `allocation` (its share, free on its node).
   * @throws {RelaunchError} when it failed (already reported as a fault; retried later).
   */
  async relaunchAt(app: string, allocation: ResourceBytes): Promise<void> {
    const down = this.#down.get(app);
    const plan = this.#plan.computes.flatMap((c) => c.apps).find((a) => a.name === app);
    if (down?.cause !== "returning" || plan === undefined) {
      throw new RangeError(`App ${app} is not waiting to be relaunched`);
    }
    const launched = await this.#launch(
      plan,
      allocation,
      down.relaunchMessage ?? "relaunched",
    );
    if (!launched) {
      throw new RelaunchError(app, this.#down.get(app)?.reason ?? "relaunch failed");
    }
  }

  /**
   * How long before the last collection the newest sample of `app` in it reached the controller
   * (0 when it was asked for then; pushed samples arrive as the agent takes them), ms.
   */
  sampleAgeMs(app: string): number {
    return this.#sampleAges.get(app) ?? 0;
  }

  /** Samples of every app since the last collection, from all agents in parallel. */
  async collect(): Promise<Map<string, AppSample[]>> {
    const byApp = new Map<string, AppSample[]>();
    const slots = [...this.#agents.values()];
    const most = this.#context.maxParallel ?? Math.max(1, slots.length);
    const outcomes = await mapLimited(slots, most, async (slot) => {
      if (slot.client === null) return;
      // An agent that did not answer last time gets a short wait: an answer after the link
      // came back takes a round trip, and the loop does not wait on a host that is gone.
      const quiet = this.#outages.get(slot.host)?.unreachableReported === true;
      let samples: AppSample[];
      try {
        samples = await slot.samples(
          quiet
            ? { timeoutMs: Math.min(250, this.#responseTimeoutMs) }
            : { timeoutMs: this.#responseTimeoutMs, fresh: true },
        );
      } catch (error) {
        if (error instanceof AgentTimeoutError) {
          await this.#unreachable(slot.host, `the agent does not answer: ${error.message}`, {
            repeat: "silent",
          });
          return;
        }
        await this.#context.emit({
          kind: "gap",
          host: slot.host,
          message: `no samples this epoch: ${messageOf(error)}`,
          details: faultDetails("collect-failed"),
        });
        return;
      }
      for (const sample of samples) {
        this.#sampleAges.set(sample.appId, slot.newestSampleAgeMs);
        const list = byApp.get(sample.appId) ?? [];
        list.push(sample);
        byApp.set(sample.appId, list);
      }
      await this.#answered(slot.host);
    });
    for (const outcome of outcomes) if (outcome.status === "rejected") throw outcome.reason;
    return byApp;
  }

  /** The agent of `host` answered: an outage it was in (not answering) is over. */
  async #answered(host: string): Promise<void> {
    if (!this.#outages.has(host)) return;
    this.#outages.delete(host);
    for (const app of this.#appsOf(host)) {
      if (this.#down.get(app.name)?.cause === "agent") this.#down.delete(app.name);
    }
    await this.#context.emit({ kind: "restart", host, message: "the agent answers again" });
  }

  /**
   * Sends one node's enforcement steps to its agent in one request (see enforce.ts); a request
   * that fails as a whole (no session, no answer) is a failed result for every step.
   */
  async setAllocations(
    host: string,
    batch: { shrinks: EnforcementStep[]; grows: EnforcementStep[] },
  ): Promise<StepResult[]> {
    const steps = [...batch.shrinks, ...batch.grows];
    const client = this.#agents.get(host)?.client ?? null;
    const toAgent = (list: EnforcementStep[]) =>
      list.map(({ app, allocation }) => ({ appId: app, allocation }));
    try {
      if (client === null) throw new Error(`no agent session on ${host}`);
      // An agent that stops answering (its host's link is down) fails the request within two
      // response timeouts instead of holding every node's enforcement for the request's own.
      const { outcomes } = await client.whileAnswering(
        client.setAllocations({ shrinks: toAgent(batch.shrinks), grows: toAgent(batch.grows) }),
        this.#responseTimeoutMs,
      );
      return stepResultsOf(outcomes);
    } catch (error) {
      // Only an unanswered ping says the agent is gone; the request's own timeout (a shrink
      // still waiting for write-back, its agent answering) fails the steps alone.
      if (error instanceof AgentTimeoutError && error.op === "list") {
        await this.#unreachable(host, `the agent does not answer: ${error.message}`, {
          repeat: "silent",
        });
      }
      return steps.map(({ app }) => ({ app, error: messageOf(error), attempted: true }));
    }
  }

  /** Stops apps, agents and memory servers and removes the run's files; never throws. */
  async teardown(): Promise<void> {
    for (const app of this.#playbook.apps) this.#stopping.add(app.name);
    await Promise.all([...this.#agents.values()].map(async (slot) => {
      try {
        // A session that ended is re-attached once, so the daemon and its apps still go.
        const client = await slot.forTeardown();
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

/** How a session reaches its daemon, for event messages. */
function viaText(client: AgentClient): string {
  return client.via === "socket" ? "to its socket" : "through a `spirit agent` relay";
}
