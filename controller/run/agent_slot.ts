/**
 * The agent of one compute node: its current session, re-attachment when the session ends
 * (a lost connection, a killed session; the daemon and its apps normally survive), and the
 * sample cursor. At most MAX_AGENT_REATTACH failed re-attachments in a row before the run gives
 * up on the host.
 * @module
 */
import type { AgentEvent, AppSample } from "../../agent/protocol.ts";
import type { Connector } from "../connectors/types.ts";
import type { AgentClient } from "./agent_client.ts";
import { startAgent } from "./processes.ts";
import type { SpiritRuntime } from "./runtime.ts";

/** Failed re-attachments in a row before a host is given up. */
export const MAX_AGENT_REATTACH = 3;

/** One compute node's agent. */
export class AgentSlot {
  readonly host: string;
  readonly #start: { connector: Connector; runtime: SpiritRuntime; stateDir: string };
  readonly #onEvent: (event: AgentEvent) => void;
  #client: AgentClient | null = null;
  #sinceSeq: number | undefined;
  #failures = 0;
  #attachments = 0;

  constructor(
    host: string,
    options: {
      connector: Connector;
      runtime: SpiritRuntime;
      stateDir: string;
      onEvent: (event: AgentEvent) => void;
    },
  ) {
    this.host = host;
    this.#start = options;
    this.#onEvent = options.onEvent;
  }

  /** The attached session, or null when it ended or none could be attached. */
  get client(): AgentClient | null {
    return this.#client === null || this.#client.ended ? null : this.#client;
  }

  /** True once MAX_AGENT_REATTACH re-attachments in a row failed. */
  get givenUp(): boolean {
    return this.#failures >= MAX_AGENT_REATTACH;
  }

  /** Sessions attached so far (1 after the start). */
  get attachments(): number {
    return this.#attachments;
  }

  /**
   * Attaches a new session (starting the daemon when none runs) and listens to its events.
   * A new daemon numbers its samples from scratch, so the cursor restarts when its pid changes.
   */
  async attach(): Promise<AgentClient> {
    const previous = this.#client;
    await previous?.close().catch(() => undefined);
    let client: AgentClient;
    try {
      client = await startAgent(this.#start.connector, this.#start);
    } catch (error) {
      this.#failures++;
      throw error;
    }
    this.#failures = 0;
    this.#attachments++;
    if (previous !== null && previous.attached.daemonPid !== client.attached.daemonPid) {
      this.#sinceSeq = undefined;
    }
    client.onEvent(this.#onEvent);
    this.#client = client;
    return client;
  }

  /** Samples since the last call (all the daemon kept, on a new daemon). */
  async samples(): Promise<AppSample[]> {
    const client = this.client;
    if (client === null) throw new Error(`no agent session on ${this.host}`);
    const result = await client.samples(this.#sinceSeq);
    this.#sinceSeq = result.lastSeq;
    return result.samples;
  }

  /** Ends the session (the daemon stays); idempotent. */
  async close(): Promise<void> {
    await this.#client?.close().catch(() => undefined);
  }
}
