/**
 * One memory server of a run: started once, restarted on the same port when it dies (at most
 * MAX_MEMSERVER_RESTARTS times), stopped at teardown.
 * @module
 */
import type { Connector } from "../connectors/types.ts";
import type { MemserverPlan } from "./plan.ts";
import { type RunningMemserver, startMemserver, stopMemserver } from "./processes.ts";
import type { SpiritRuntime } from "./runtime.ts";

/** Restarts of one memory server before the run gives up on it. */
export const MAX_MEMSERVER_RESTARTS = 3;

/** A memory server slot: the process currently filling it, if any. */
export class MemserverSlot {
  readonly plan: MemserverPlan;
  readonly #start: { connector: Connector; runtime: SpiritRuntime; tokenFile: string };
  #server: RunningMemserver | null = null;
  #restarts = 0;
  #exitReported = false;

  constructor(
    plan: MemserverPlan,
    start: { connector: Connector; runtime: SpiritRuntime; tokenFile: string },
  ) {
    this.plan = plan;
    this.#start = start;
  }

  /** The host name. */
  get host(): string {
    return this.plan.host;
  }

  /** `address:port` clients connect to (the port the server bound). */
  get address(): string {
    return `${this.plan.connectAddress}:${this.#server?.port ?? this.plan.port}`;
  }

  /** The running server, or null when none runs. */
  get server(): RunningMemserver | null {
    return this.#server;
  }

  /** True when the server died (or its restart failed) and it has not been restarted yet. */
  get down(): boolean {
    return this.#server === null || this.#server.exited;
  }

  /** Restarts used so far. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Restarts the run still allows. */
  get restartsLeft(): number {
    return MAX_MEMSERVER_RESTARTS - this.#restarts;
  }

  /** Starts the server (first start, or on the port it had). */
  async start(): Promise<RunningMemserver> {
    const port = this.#server?.port ?? this.plan.port;
    this.#server = await startMemserver(this.#start.connector, {
      plan: { ...this.plan, port },
      runtime: this.#start.runtime,
      tokenFile: this.#start.tokenFile,
    });
    this.#exitReported = false;
    return this.#server;
  }

  /**
   * The exit status of a server that died (after its output drained), once per death; null when
   * none died or its death was reported already.
   */
  async takeExitStatus(): Promise<number | null> {
    const server = this.#server;
    if (server === null || !server.exited || this.#exitReported) return null;
    this.#exitReported = true;
    const status = await server.process.status;
    await server.drained;
    return status.code;
  }

  /** Restarts a dead server on its port; throws when it fails or the restarts are used up. */
  async restart(): Promise<RunningMemserver> {
    if (this.#restarts >= MAX_MEMSERVER_RESTARTS) {
      throw new Error(`restarted ${MAX_MEMSERVER_RESTARTS} times already; given up`);
    }
    this.#restarts++;
    return await this.start();
  }

  /** Stops the server; resolves with its exit status (-1 when none ran or stopping failed). */
  async stop(): Promise<number> {
    const server = this.#server;
    if (server === null) return -1;
    return await stopMemserver(server).catch(() => -1);
  }
}
