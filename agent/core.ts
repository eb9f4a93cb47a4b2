/**
 * The agent's state and request handling, independent of any transport: the daemon feeds it
 * request lines from its Unix socket, tests call it in-process. It samples every app once per
 * interval, keeps a bounded history (so a re-attached controller can fetch what it missed),
 * and emits events to subscribers.
 * @module
 */
import { spiritCliPath } from "../common/spirit_cli.ts";
import { type CgroupLayout, detectCgroups } from "./cgroup/mounts.ts";
import { gatherFacts } from "./facts.ts";
import { AGENT_VERSION } from "./host_facts.ts";
import { defaultSwapDevices, readSwapDevices } from "./host/swaps.ts";
import {
  AGENT_PROTOCOL_VERSION,
  type AgentErrorCode,
  type AgentEvent,
  type AgentRequest,
  type AgentResponse,
  type Allocation,
  type AppSample,
  type AppStatus,
  type HelloResult,
  type HostFacts,
  type LaunchSpec,
  type SamplesResult,
  type SetAllocationResult,
  type TeardownResult,
} from "./protocol.ts";
import { parseAgentRequest } from "./protocol_schema.ts";
import { applyAllocationBatch } from "./allocation_batch.ts";
import { type ManagedApp, type RawSample, withRates } from "./apps/app.ts";
import { CgroupApp, type CgroupAppContext } from "./apps/cgroup_app.ts";
import { FarmemApp } from "./apps/farmem_app.ts";
import { fileSink } from "./apps/output.ts";
import type { RemovedDevice } from "../remote_swap/protocol.ts";
import { type RemoteSwapDevice, RemoteSwapSupervisor } from "./remote_swap.ts";

/**
 * How long a `samples` request with `fresh` waits for the sampling it starts: a workload slow to
 * answer (5 s at most) must not make its agent look unreachable to the controller, which waits
 * 2 s at least.
 */
const FRESH_SAMPLE_WAIT_MS = 1000;

/** Configuration of one agent. */
export interface AgentConfig {
  /** Directory for the socket, pid file and app logs (created 0700). */
  stateDir: string;
  /**
   * Swap devices to throttle for cgroup apps that name none (`--swap-device`). Without it
   * such apps follow the node's default, re-resolved whenever the swap devices change: the
   * remote swap device when there is one, else every active swap device.
   */
  swapDevices?: string[];
  /**
   * The path of this node's remote swap device (the one spirit serves from its memory node),
   * or null while it has none; read at every launch and sampling round.
   */
  remoteSwapDevice?: () => string | null;
  /** Sampling interval (default 1000 ms). */
  sampleIntervalMs?: number;
  /** Samples kept per app for re-attached controllers (default 600). */
  historyPerApp?: number;
  /** argv prefix that starts a spirit workload (`... workload <kind> <args> --control ...`). */
  workloadCommand?: string[];
  /** argv prefix that runs this node's spirit CLI (drivers of `kind: "spirit"`). */
  spiritCommand?: string[];
  /** State directory of remote swap devices (default /run/spirit/remote-swap; tests differ). */
  remoteSwapRoot?: string;
}

/** An error answered to the controller with a protocol error code. */
export class AgentError extends Error {
  readonly code: AgentErrorCode;
  constructor(code: AgentErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AgentError";
    this.code = code;
  }
}

/** The default argv prefix of the spirit CLI: this checkout's (or bundle's) under this Deno. */
export function defaultSpiritCommand(): string[] {
  return [Deno.execPath(), "run", "-A", spiritCliPath()];
}

/** The default argv prefix for spirit workloads: this checkout's CLI under this Deno. */
export function defaultWorkloadCommand(): string[] {
  return [...defaultSpiritCommand(), "workload"];
}

/** Agent state: apps, samples, subscribers. */
export class AgentCore {
  readonly config: AgentConfig;
  readonly startedAtMs = Date.now();
  #layout: CgroupLayout | null = null;
  #facts: HostFacts | null = null;
  #apps = new Map<string, ManagedApp>();
  #lastRaw = new Map<string, RawSample>();
  #finalSampled = new Set<string>();
  #history = new Map<string, AppSample[]>();
  /** Cgroup apps that named no swap device: they follow the node's default. */
  #followDefaultSwap = new Set<string>();
  #seq = 0;
  #listeners = new Set<(event: AgentEvent) => void>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #sampling: Promise<void> | null = null;
  #closed = false;
  readonly #remoteSwap: RemoteSwapSupervisor;

  constructor(config: AgentConfig) {
    this.config = config;
    this.#remoteSwap = new RemoteSwapSupervisor({
      ...(config.remoteSwapRoot === undefined ? {} : { root: config.remoteSwapRoot }),
      label: config.stateDir,
      report: (report) => this.#emit({ event: "remote-swap", ...report }),
    });
  }

  /**
   * The node's remote swap device (remote-swap-up), or null: cgroup apps that name no swap
   * device are throttled and measured on it.
   */
  remoteSwapDevice(): RemoteSwapDevice | null {
    return this.#remoteSwap.device();
  }

  /** The node's remote swap device path: the configured hook (tests), else the supervised one. */
  #remoteSwapPath(): string | null {
    return this.config.remoteSwapDevice?.() ?? this.#remoteSwap.device()?.path ?? null;
  }

  /** Starts the sampling timer and adopts a remote swap device this agent started earlier. */
  start(): void {
    if (this.#timer !== null) return;
    this.#remoteSwap.adopt().catch((error: Error) =>
      this.#emit({
        event: "remote-swap",
        change: "unsupervised",
        device: null,
        message: `cannot adopt this agent's remote swap device: ${error.message}`,
      })
    );
    this.#scheduleSampling(this.#intervalMs());
  }

  #intervalMs(): number {
    return this.config.sampleIntervalMs ?? 1000;
  }

  /** Samples every interval, the first time after `firstMs`. */
  #scheduleSampling(firstMs: number): void {
    this.#stopTimer();
    this.#timer = setTimeout(() => {
      this.#timer = setInterval(() => this.#sampleInBackground(), this.#intervalMs());
      this.#sampleInBackground();
    }, firstMs);
  }

  #stopTimer(): void {
    // clearTimeout and clearInterval share one id space.
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** The sampling under way, or a new one (samples are never taken twice at once). */
  #sampleInBackground(): Promise<void> {
    return this.#sampling ??= this.sampleAll().then(() => {}).finally(() => this.#sampling = null);
  }

  /**
   * A collection that finds no sample newer than its cursor: the agent samples now (at most
   * FRESH_SAMPLE_WAIT_MS of waiting, so a workload slow to answer does not make the agent look
   * unreachable) and moves its timer half an interval away from that moment. The controller
   * collects once per epoch; a timer that ticks just around its collections (the same period,
   * an unlucky phase) would leave some epochs without a sample and give the next two; half an
   * interval away it ticks mid-epoch.
   */
  async #sampleForCollection(): Promise<void> {
    const sampling = this.#sampleInBackground();
    if (!this.#closed && this.#timer !== null) this.#scheduleSampling(this.#intervalMs() / 2);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      sampling,
      new Promise((resolve) => timer = setTimeout(resolve, FRESH_SAMPLE_WAIT_MS)),
    ]);
    clearTimeout(timer);
  }

  /** Listens to events; returns the unsubscribe function. */
  subscribe(listener: (event: AgentEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: AgentEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  /** Status of every app. */
  list(): AppStatus[] {
    return [...this.#apps.values()].map((app) => app.status());
  }

  /** Parses and answers one request line (never throws). */
  async handleLine(line: string): Promise<AgentResponse> {
    const parsed = parseAgentRequest(line);
    if (!parsed.ok) {
      return {
        id: parsed.id ?? -1,
        ok: false,
        error: { code: "bad-request", message: parsed.message },
      };
    }
    return await this.handle(parsed.request);
  }

  /** Answers one validated request (never throws). */
  async handle(request: AgentRequest): Promise<AgentResponse> {
    try {
      return { id: request.id, ok: true, result: await this.#dispatch(request) };
    } catch (error) {
      const code = error instanceof AgentError ? error.code : "internal";
      const message = error instanceof Error ? error.message : String(error);
      return { id: request.id, ok: false, error: { code, message } };
    }
  }

  async #dispatch(request: AgentRequest): Promise<unknown> {
    switch (request.op) {
      case "hello": {
        if (request.protocolVersion !== AGENT_PROTOCOL_VERSION) {
          throw new AgentError(
            "version-mismatch",
            `Agent speaks protocol ${AGENT_PROTOCOL_VERSION}, controller ${request.protocolVersion}`,
          );
        }
        return {
          protocolVersion: AGENT_PROTOCOL_VERSION,
          agentVersion: AGENT_VERSION,
          daemonPid: Deno.pid,
        } satisfies HelloResult;
      }
      case "facts":
        return await this.facts();
      case "launch":
        return await this.launch(request.app);
      case "set-allocation": {
        const app = this.#app(request.appId);
        const applied = await this.#setAllocation(app, request.allocation);
        return { app: app.status(), applied } satisfies SetAllocationResult;
      }
      case "set-allocations":
        return await applyAllocationBatch(
          request,
          (step) => this.#setAllocation(this.#app(step.appId), step.allocation),
        );
      case "samples": {
        const since = request.sinceSeq ?? 0;
        if (request.fresh === true && this.#seq <= since) await this.#sampleForCollection();
        return this.samples(since, request.appIds);
      }
      case "list":
        return { apps: this.list() };
      case "stop": {
        await this.stop(request.appId, request.graceMs);
        return { appId: request.appId, stopped: true };
      }
      case "teardown": {
        const { stopped, remoteSwap } = await this.teardown();
        return {
          stopped,
          remoteSwap,
          shutdown: request.shutdown === true,
        } satisfies TeardownResult;
      }
      case "remote-swap-up": {
        const { id: _id, op: _op, ...swap } = request;
        return await this.#remoteSwapRequest(() => this.#remoteSwap.up(swap));
      }
      case "remote-swap-set-write-cap":
        return await this.#remoteSwapRequest(() =>
          this.#remoteSwap.setWriteCap(request.bytesPerSec)
        );
      case "remote-swap-down":
        return { removed: await this.#remoteSwapRequest(() => this.#remoteSwap.down()) };
    }
  }

  async #setAllocation(
    app: ManagedApp,
    allocation: Allocation,
  ): Promise<"immediate" | "stepping"> {
    try {
      return await app.setAllocation(allocation);
    } catch (error) {
      throw new AgentError("enforcement-failed", (error as Error).message, { cause: error });
    }
  }

  async #remoteSwapRequest<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof AgentError) throw error;
      throw new AgentError("remote-swap-failed", (error as Error).message, { cause: error });
    }
  }

  #app(appId: string): ManagedApp {
    const app = this.#apps.get(appId);
    if (app === undefined) throw new AgentError("unknown-app", `No app with id "${appId}"`);
    return app;
  }

  /** Host facts (cached after the first call, except swap devices which are re-read). */
  async facts(): Promise<HostFacts> {
    this.#layout ??= await detectCgroups();
    this.#facts ??= await gatherFacts(this.#layout);
    return { ...this.#facts, swapDevices: await readSwapDevices() };
  }

  /** Launches or adopts an app. */
  async launch(spec: LaunchSpec): Promise<AppStatus> {
    if (this.#closed) throw new AgentError("launch-failed", "The agent is shutting down");
    if (this.#apps.has(spec.appId)) {
      throw new AgentError("app-exists", `An app with id "${spec.appId}" exists; stop it first`);
    }
    const facts = await this.facts();
    const logDir = `${this.config.stateDir}/apps`;
    await Deno.mkdir(logDir, { recursive: true, mode: 0o700 });
    // An adopted cgroup's output is not ours to read: no log file for it.
    const log = spec.enforcement === "cgroup-existing"
      ? { sink: () => {}, close: () => {} }
      : await fileSink(`${logDir}/${spec.appId}.log`);
    const driverLog = spec.enforcement !== "farmem" && spec.driver !== undefined
      ? await fileSink(`${logDir}/${spec.appId}.driver.log`)
      : null;
    const onWarning = (message: string) =>
      this.#emit({ event: "warning", appId: spec.appId, message });
    let app: ManagedApp;
    try {
      if (spec.enforcement === "farmem") {
        const controlDir = `${this.config.stateDir}/ctl`;
        await Deno.mkdir(controlDir, { recursive: true, mode: 0o700 });
        app = await FarmemApp.launch(spec, {
          workloadCommand: this.config.workloadCommand ?? defaultWorkloadCommand(),
          stderrSink: log.sink,
          onOutputClosed: log.close,
          controlDir,
        });
      } else {
        const context = await this.#cgroupContext(spec.swapDevices, {
          sink: log.sink,
          onOutputClosed: log.close,
          onWarning,
          hardwareCounters: facts.hardwarePerfCounters,
          ...(driverLog === null ? {} : {
            driver: {
              sink: driverLog.sink,
              onOutputClosed: driverLog.close,
              spiritCommand: this.config.spiritCommand ?? defaultSpiritCommand(),
            },
          }),
        });
        app = spec.enforcement === "cgroup"
          ? await CgroupApp.launch(spec, context)
          : await CgroupApp.adopt(spec, context);
      }
    } catch (error) {
      log.close();
      driverLog?.close();
      if (error instanceof AgentError) throw error;
      throw new AgentError(
        "launch-failed",
        `Cannot launch ${spec.appId}: ${(error as Error).message}` +
          (spec.enforcement === "cgroup-existing"
            ? ""
            : ` (its output: ${logDir}/${spec.appId}.log)`),
        {
          cause: error,
        },
      );
    }
    this.#apps.set(spec.appId, app);
    if (spec.enforcement !== "farmem" && spec.swapDevices === undefined) {
      if (this.config.swapDevices === undefined) this.#followDefaultSwap.add(spec.appId);
    }
    app.exited.then((exit) => {
      if (exit !== null && this.#apps.get(spec.appId) === app) {
        this.#emit({ event: "app-exited", appId: spec.appId, exit });
      }
    });
    return app.status();
  }

  async #cgroupContext(
    requested: string[] | undefined,
    options: Omit<CgroupAppContext, "layout" | "throttleDevices">,
  ): Promise<CgroupAppContext> {
    this.#layout ??= await detectCgroups();
    const active = await readSwapDevices();
    // Explicit devices, else the agent's configuration, else the node's default: its remote swap
    // device when active, else every active swap device.
    const wanted = requested ?? this.config.swapDevices;
    const devices: string[] = [];
    if (wanted === undefined) {
      devices.push(...defaultSwapDevices(active, this.#remoteSwapPath()));
    } else {
      for (const path of wanted) {
        const resolved = await Deno.realPath(path).catch((error) => {
          if (error instanceof Deno.errors.NotFound) {
            throw new AgentError("launch-failed", `Swap device ${path} does not exist`);
          }
          throw error;
        });
        const swap = active.find((s) => s.path === resolved || s.path === path);
        if (swap === undefined || swap.device === null) {
          throw new AgentError(
            "launch-failed",
            `${path} is not an active swap device (see /proc/swaps)`,
          );
        }
        devices.push(swap.device);
      }
    }
    return { layout: this.#layout, throttleDevices: [...new Set(devices)], ...options };
  }

  /**
   * Moves the apps that follow the node's default swap devices to the current default when
   * it changed (a device swapped on or off, the remote swap device up or gone).
   */
  async followSwapDevices(): Promise<void> {
    const following = [...this.#followDefaultSwap].flatMap((id) => {
      const app = this.#apps.get(id);
      return app instanceof CgroupApp ? [app] : [];
    });
    if (following.length === 0) return;
    let devices: string[];
    try {
      devices = defaultSwapDevices(
        await readSwapDevices(),
        this.#remoteSwapPath(),
      );
    } catch (error) {
      // A device coming or going mid-read: keep the current devices until the next round.
      this.#emit({
        event: "warning",
        message: `Cannot read the node's swap devices: ${(error as Error).message}`,
      });
      return;
    }
    const same = (a: readonly string[]) =>
      a.length === devices.length && a.every((d) => devices.includes(d));
    await Promise.all(
      following.filter((app) => !same(app.throttleDevices())).map(async (app) => {
        try {
          await app.setThrottleDevices(devices);
        } catch (error) {
          this.#emit({
            event: "warning",
            appId: app.appId,
            message: `Cannot move throttling to swap devices ${devices.join(", ") || "(none)"}: ${
              (error as Error).message
            }`,
          });
        }
      }),
    );
  }

  /** Samples every app once and records the samples. */
  async sampleAll(): Promise<AppSample[]> {
    await this.followSwapDevices();
    // Running apps every time; an exited app once more (its final counters), then no longer.
    const apps = [...this.#apps.values()].filter((app) => {
      const state = app.status().state;
      return state === "running" || state === "starting" ||
        (state === "exited" && !this.#finalSampled.has(app.appId));
    });
    for (const app of apps) {
      if (app.status().state === "exited") this.#finalSampled.add(app.appId);
    }
    const results = await Promise.allSettled(apps.map((app) => app.measure()));
    const samples: AppSample[] = [];
    results.forEach((result, i) => {
      const app = apps[i];
      if (app === undefined) return;
      if (result.status === "rejected") {
        if (this.#apps.get(app.appId) === app && app.status().state !== "stopped") {
          this.#emit({
            event: "warning",
            appId: app.appId,
            message: `Sampling failed: ${String(result.reason)}`,
          });
        }
        return;
      }
      const sample = withRates(result.value, {
        previous: this.#lastRaw.get(app.appId),
        seq: ++this.#seq,
      });
      this.#lastRaw.set(app.appId, result.value);
      const history = this.#history.get(app.appId) ?? [];
      history.push(sample);
      if (history.length > (this.config.historyPerApp ?? 600)) history.shift();
      this.#history.set(app.appId, history);
      samples.push(sample);
      this.#emit({ event: "sample", sample });
    });
    return samples;
  }

  /** Stored samples newer than `sinceSeq`. */
  samples(sinceSeq: number, appIds?: string[]): SamplesResult {
    const ids = appIds ?? [...this.#history.keys()];
    const samples = ids.flatMap((id) =>
      (this.#history.get(id) ?? []).filter((s) => s.seq > sinceSeq)
    );
    samples.sort((a, b) => a.seq - b.seq);
    return { samples, lastSeq: this.#seq };
  }

  /** Stops one app and forgets it (idempotent: an unknown id is already stopped). */
  async stop(appId: string, graceMs?: number): Promise<void> {
    const app = this.#apps.get(appId);
    if (app === undefined) return;
    await app.stop(graceMs === undefined ? {} : { graceMs });
    if (this.#apps.get(appId) === app) {
      this.#apps.delete(appId);
      this.#lastRaw.delete(appId);
      this.#finalSampled.delete(appId);
      this.#followDefaultSwap.delete(appId);
    }
  }

  /**
   * Stops every app and removes every cgroup, then the node's remote swap device (swapoff after
   * the apps: their swapped pages need not come back); returns the ids stopped and the device
   * removed (null when there was none). Idempotent.
   */
  async teardown(): Promise<{ stopped: string[]; remoteSwap: RemovedDevice | null }> {
    const ids = [...this.#apps.keys()];
    const results = await Promise.allSettled(ids.map((id) => this.stop(id)));
    this.#history.clear();
    const failed = results.flatMap((r, i) =>
      r.status === "rejected" ? [`${ids[i]}: ${String(r.reason)}`] : []
    );
    let remoteSwap: RemovedDevice | null = null;
    try {
      remoteSwap = await this.#remoteSwap.down();
    } catch (error) {
      failed.push(`remote swap: ${(error as Error).message}`);
    }
    if (failed.length > 0) {
      throw new AgentError("internal", `Teardown incomplete: ${failed.join("; ")}`);
    }
    return { stopped: ids, remoteSwap };
  }

  /** Stops the sampling timer and tears everything down (for shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopTimer();
    await this.#sampling;
    await this.teardown();
    this.#listeners.clear();
  }
}
