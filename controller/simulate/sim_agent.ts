/**
 * A simulated agent: a daemon per state directory holding simulated apps, sampled every
 * interval of virtual time, answering the agent protocol (requests validated by the real
 * schema) exactly as agent/core.ts does, and sessions that attach to it over a SimProcess's
 * stdio. Faults (failing launches, enforcement or samples) come from the world.
 * @module
 */
import { type RawSample, withRates } from "../../agent/apps/app.ts";
import {
  AGENT_PROTOCOL_VERSION,
  type AgentErrorCode,
  type AgentEvent,
  type AgentRequest,
  type AgentResponse,
  type AllocationStep,
  type AppExit,
  type AppSample,
  type AttachedEvent,
  type HostFacts,
  type LaunchSpec,
} from "../../agent/protocol.ts";
import { parseAgentRequest } from "../../agent/protocol_schema.ts";
import { applyAllocationBatchSync } from "../../agent/allocation_batch.ts";
import type { SimAppSpec } from "./app_models.ts";
import { SimApp } from "./sim_app.ts";
import { SimProcess } from "./sim_process.ts";

/** Samples kept per app for re-attached controllers (as the real agent). */
const HISTORY_PER_APP = 600;

/** What a daemon asks of the simulated world. */
export interface DaemonWorld {
  /** The behaviour of the app with this id. */
  specOf(appId: string): SimAppSpec;
  /** The noise seed of the app's `launches`-th launch. */
  seedOf(appId: string, launches: number): number;
  /** Why launching the app fails now, or null. */
  launchFailure(spec: LaunchSpec, nowMs: number): string | null;
  /** Why setting the app's allocation fails now, or null. */
  enforcementFailure(appId: string, nowMs: number): string | null;
  /** Why answering samples fails now, or null. */
  samplesFailure(nowMs: number): string | null;
  /** Records an allocation the agent applied (for checks over the whole run). */
  applied(
    appId: string,
    allocation: LaunchSpec["allocation"],
    at: { nowMs: number; via: "launch" | "set-allocation" },
  ): void;
  /** Host facts to answer `facts` with. */
  facts(): HostFacts;
}

class ProtocolError extends Error {
  readonly code: AgentErrorCode;
  constructor(code: AgentErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** The samples of an app's history (in seq order) newer than `seq`. */
function newerThan(history: readonly AppSample[], seq: number): AppSample[] {
  let start = history.length;
  while (start > 0 && (history[start - 1]?.seq ?? 0) > seq) start--;
  return history.slice(start);
}

/** A simulated agent daemon. */
export class SimDaemon {
  readonly pid: number;
  readonly startedAtMs: number;
  readonly #world: DaemonWorld;
  readonly #intervalMs: number;
  readonly #apps = new Map<string, SimApp>();
  readonly #launches = new Map<string, number>();
  readonly #history = new Map<string, AppSample[]>();
  readonly #lastRaw = new Map<string, RawSample>();
  readonly #finalSampled = new Set<string>();
  readonly #listeners = new Set<(event: AgentEvent) => void>();
  #nextSampleMs: number;
  #seq = 0;
  #alive = true;

  constructor(
    world: DaemonWorld,
    options: { pid: number; nowMs: number; sampleIntervalMs: number },
  ) {
    this.#world = world;
    this.pid = options.pid;
    this.startedAtMs = options.nowMs;
    this.#intervalMs = options.sampleIntervalMs;
    this.#nextSampleMs = options.nowMs + options.sampleIntervalMs;
  }

  /** False once the daemon died or shut down. */
  get alive(): boolean {
    return this.#alive;
  }

  /** The daemon's apps (for the world's faults). */
  apps(): SimApp[] {
    return [...this.#apps.values()];
  }

  /** Listens to events; returns the unsubscribe. */
  subscribe(listener: (event: AgentEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: AgentEvent): void {
    for (const listener of [...this.#listeners]) listener(event);
  }

  /** The `attached` line a new session starts with. */
  attached(): AttachedEvent {
    return {
      event: "attached",
      protocolVersion: AGENT_PROTOCOL_VERSION,
      agentVersion: "simulated",
      daemonPid: this.pid,
      daemonStartedAtMs: this.startedAtMs,
      apps: [...this.#apps.values()].map((a) => a.status()),
    };
  }

  /** Takes every sample due up to `nowMs`. */
  advanceTo(nowMs: number): void {
    while (this.#alive && this.#nextSampleMs <= nowMs) {
      this.#sampleAll(this.#nextSampleMs);
      this.#nextSampleMs += this.#intervalMs;
    }
    for (const app of this.#apps.values()) app.advanceTo(nowMs);
  }

  #sampleAll(timeMs: number): void {
    for (const app of this.#apps.values()) {
      if (!app.running && this.#finalSampled.has(app.appId)) continue;
      if (!app.running) this.#finalSampled.add(app.appId);
      app.advanceTo(timeMs);
      const raw = app.sample(timeMs);
      const sample = withRates(raw, { previous: this.#lastRaw.get(app.appId), seq: ++this.#seq });
      this.#lastRaw.set(app.appId, raw);
      const history = this.#history.get(app.appId) ?? [];
      history.push(sample);
      if (history.length > HISTORY_PER_APP) history.shift();
      this.#history.set(app.appId, history);
    }
  }

  /** Ends an app's process (a crash or an exit) and tells the sessions. */
  endApp(appId: string, exit: AppExit): void {
    const app = this.#apps.get(appId);
    if (app === undefined || !app.running) return;
    app.advanceTo(exit.atMs);
    app.exit(exit);
    this.#emit({ event: "app-exited", appId, exit });
  }

  /** The daemon dies: its apps die with it, unannounced. */
  kill(nowMs: number): void {
    for (const app of this.#apps.values()) {
      app.exit({ code: 137, signal: "SIGKILL", atMs: nowMs });
    }
    this.#alive = false;
    this.#listeners.clear();
  }

  /** Answers one request line at `nowMs` (never throws). */
  handleLine(line: string, nowMs: number): AgentResponse {
    const parsed = parseAgentRequest(line);
    if (!parsed.ok) {
      return {
        id: parsed.id ?? -1,
        ok: false,
        error: { code: "bad-request", message: parsed.message },
      };
    }
    try {
      return { id: parsed.request.id, ok: true, result: this.#dispatch(parsed.request, nowMs) };
    } catch (error) {
      const code = error instanceof ProtocolError ? error.code : "internal";
      const message = error instanceof Error ? error.message : String(error);
      return { id: parsed.request.id, ok: false, error: { code, message } };
    }
  }

  #app(appId: string): SimApp {
    const app = this.#apps.get(appId);
    if (app === undefined) throw new ProtocolError("unknown-app", `No app with id "${appId}"`);
    return app;
  }

  #setAllocation(step: AllocationStep, nowMs: number): SimApp {
    const app = this.#app(step.appId);
    const failure = this.#world.enforcementFailure(step.appId, nowMs) ??
      (app.running ? null : `App ${step.appId} is not running`);
    if (failure !== null) throw new ProtocolError("enforcement-failed", failure);
    app.advanceTo(nowMs);
    app.setAllocation(step.allocation);
    this.#world.applied(step.appId, step.allocation, { nowMs, via: "set-allocation" });
    return app;
  }

  #dispatch(request: AgentRequest, nowMs: number): unknown {
    switch (request.op) {
      case "hello":
        if (request.protocolVersion !== AGENT_PROTOCOL_VERSION) {
          throw new ProtocolError(
            "version-mismatch",
            `Agent speaks protocol ${AGENT_PROTOCOL_VERSION}, controller ${request.protocolVersion}`,
          );
        }
        return {
          protocolVersion: AGENT_PROTOCOL_VERSION,
          agentVersion: "simulated",
          daemonPid: this.pid,
        };
      case "facts":
        return this.#world.facts();
      case "launch":
        return this.#launch(request.app, nowMs);
      case "set-allocation": {
        const app = this.#setAllocation(request, nowMs);
        return { app: app.status(), applied: "immediate" };
      }
      case "set-allocations":
        return applyAllocationBatchSync(request, (step) => this.#setAllocation(step, nowMs));
      case "samples": {
        const failure = this.#world.samplesFailure(nowMs);
        if (failure !== null) throw new ProtocolError("internal", failure);
        const since = request.sinceSeq ?? 0;
        if (request.fresh === true && this.#seq <= since && this.#alive) {
          // As the real agent: sample now, the timer half an interval away.
          this.#sampleAll(nowMs);
          this.#nextSampleMs = nowMs + this.#intervalMs / 2;
        }
        const ids = request.appIds ?? [...this.#history.keys()];
        const samples = ids.flatMap((id) => newerThan(this.#history.get(id) ?? [], since))
          .sort((a, b) => a.seq - b.seq);
        return { samples, lastSeq: this.#seq };
      }
      case "list":
        return { apps: [...this.#apps.values()].map((a) => a.status()) };
      case "stop":
        this.#stop(request.appId, nowMs);
        return { appId: request.appId, stopped: true };
      case "teardown": {
        const stopped = [...this.#apps.keys()];
        for (const id of stopped) this.#stop(id, nowMs);
        this.#history.clear();
        return { stopped, shutdown: request.shutdown === true };
      }
    }
  }

  #launch(spec: LaunchSpec, nowMs: number) {
    if (this.#apps.has(spec.appId)) {
      throw new ProtocolError("app-exists", `An app with id "${spec.appId}" exists; stop it first`);
    }
    const failure = this.#world.launchFailure(spec, nowMs);
    if (failure !== null) {
      throw new ProtocolError("launch-failed", `Cannot launch ${spec.appId}: ${failure}`);
    }
    const launches = (this.#launches.get(spec.appId) ?? 0) + 1;
    this.#launches.set(spec.appId, launches);
    const app = new SimApp(spec, {
      spec: this.#world.specOf(spec.appId),
      seed: this.#world.seedOf(spec.appId, launches),
      nowMs,
    });
    this.#apps.set(spec.appId, app);
    this.#world.applied(spec.appId, spec.allocation, { nowMs, via: "launch" });
    return app.status();
  }

  #stop(appId: string, nowMs: number): void {
    const app = this.#apps.get(appId);
    if (app === undefined) return;
    if (app.running) this.endApp(appId, { code: 143, signal: "SIGTERM", atMs: nowMs });
    this.#apps.delete(appId);
    this.#lastRaw.delete(appId);
    this.#finalSampled.delete(appId);
  }
}

/**
 * A `spirit agent` session attached to `daemon`: the attached line, then one response per
 * request line, and the daemon's events. It ends when its stdin closes, when the daemon shuts
 * down (teardown with `shutdown`) or dies, or when the world drops the connection.
 */
export function agentSession(
  daemon: SimDaemon,
  options: { argv: readonly string[]; now: () => number; onShutdown: () => void },
): SimProcess {
  let unsubscribe = () => {};
  const process: SimProcess = new SimProcess(options.argv, {
    onLine: (line) => {
      if (line.trim() === "") return;
      const response = daemon.handleLine(line, options.now());
      process.writeLine(JSON.stringify(response));
      const request = JSON.parse(line) as Partial<AgentRequest>;
      if (response.ok && request.op === "teardown" && request.shutdown === true) {
        options.onShutdown();
      }
    },
    onStdinClosed: () => {
      unsubscribe();
      process.exit(0);
    },
  });
  process.writeLine(JSON.stringify(daemon.attached()));
  unsubscribe = daemon.subscribe((event) => process.writeLine(JSON.stringify(event)));
  process.status.then(() => unsubscribe());
  return process;
}
