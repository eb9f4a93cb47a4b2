/**
 * The agent of one compute node: its current session, re-attachment when the session ends
 * (a lost connection, a killed session; the daemon and its apps normally survive), and the
 * sample cursor. Re-attachment runs in the background, one attempt at a time, for as long as
 * the run lasts: an unreachable host (an SSH connection attempt can take many seconds) never
 * holds up the epochs of the others, and a host that comes back is picked up again.
 * @module
 */
import type { AgentEvent, AppSample } from "../../agent/protocol.ts";
import type { Connector } from "../connectors/types.ts";
import type { AgentClient } from "./agent_client.ts";
import { within } from "./within.ts";
import { startAgent } from "./processes.ts";
import type { SpiritRuntime } from "./runtime.ts";

/** Pushed samples kept between collections, at most. */
const MAX_PUSHED_SAMPLES = 10_000;

/** How one attempt to attach ended. */
export type AttachOutcome = { ok: true; client: AgentClient } | { ok: false; error: unknown };

/** One compute node's agent. */
export class AgentSlot {
  readonly host: string;
  readonly #start: { connector: Connector; runtime: SpiritRuntime; stateDir: string };
  readonly #onEvent: (event: AgentEvent) => void;
  #client: AgentClient | null = null;
  #attempt: Promise<AttachOutcome> | null = null;
  #sinceSeq: number | undefined;
  /** Samples the agent pushed (`sample` events) since the last collection. */
  #pushed: AppSample[] = [];
  /** When the newest pushed sample arrived (controller wall clock, ms). */
  #pushedAtMs = 0;
  readonly #wallTime: () => number;
  #newestAgeMs = 0;
  #failures = 0;
  #attachments = 0;

  constructor(
    host: string,
    options: {
      connector: Connector;
      runtime: SpiritRuntime;
      stateDir: string;
      onEvent: (event: AgentEvent) => void;
      /** The controller's wall clock, ms (default Date.now). */
      wallTime?: () => number;
    },
  ) {
    this.host = host;
    this.#start = options;
    this.#onEvent = options.onEvent;
    this.#wallTime = options.wallTime ?? Date.now;
  }

  /** The attached session, or null when it ended or none could be attached. */
  get client(): AgentClient | null {
    return this.#client === null || this.#client.ended ? null : this.#client;
  }

  /** Failed attachments in a row (0 once one succeeds). */
  get failures(): number {
    return this.#failures;
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
    client.onEvent((event) => {
      if (event.event !== "sample") return;
      this.#pushed.push(event.sample);
      // Nobody collecting (a long start-up, a stalled loop): keep the newest; the gap this
      // leaves makes the next collection ask the agent, which keeps 600 samples per app.
      if (this.#pushed.length > MAX_PUSHED_SAMPLES) this.#pushed.shift();
      this.#pushedAtMs = this.#wallTime();
    });
    client.onEvent(this.#onEvent);
    this.#client = client;
    return client;
  }

  /**
   * Re-attaches in the background: starts an attempt unless one is under way, and waits for it
   * at most `waitMs`. Resolves with its outcome once it has one (each outcome is returned once),
   * or null while it is still under way (ask again later).
   */
  async reattach(waitMs: number): Promise<AttachOutcome | null> {
    const attempt = this.#attempt ??= this.attach().then(
      (client): AttachOutcome => ({ ok: true, client }),
      (error): AttachOutcome => ({ ok: false, error }),
    );
    const outcome = await within(attempt, waitMs);
    if (outcome !== null && this.#attempt === attempt) this.#attempt = null;
    return outcome;
  }

  /**
   * Samples since the last call (all the daemon kept, on a new daemon). The agent pushes each
   * sample as it takes it, so normally these are at hand and no request is made; the agent is
   * asked (`samples` since the cursor) only when none arrived since the last call (an agent
   * with nothing to say, one whose timer ticks just after the collections, or one that is
   * unreachable: the request's timeout tells) or when the pushed ones do not follow the cursor
   * without a gap (the first collection, a new session). With `fresh`, an agent asked takes a
   * sample then if it has none newer, and moves its timer away from the collections.
   */
  async samples(options: { timeoutMs?: number; fresh?: boolean } = {}): Promise<AppSample[]> {
    const client = this.client;
    if (client === null) throw new Error(`no agent session on ${this.host}`);
    const pushedAtMs = this.#pushedAtMs;
    const pushed = this.#takePushed();
    if (pushed !== null) {
      this.#newestAgeMs = Math.max(0, this.#wallTime() - pushedAtMs);
      return pushed;
    }
    const result = await client.samples(this.#sinceSeq, options);
    this.#sinceSeq = result.lastSeq;
    this.#newestAgeMs = 0;
    return result.samples;
  }

  /**
   * How long before the last `samples()` call returned its newest sample reached the controller,
   * ms: 0 when they were asked for, the time since the last push arrived otherwise.
   */
  get newestSampleAgeMs(): number {
    return this.#newestAgeMs;
  }

  /** The pushed samples newer than the cursor when they continue it without a gap, else null. */
  #takePushed(): AppSample[] | null {
    const since = this.#sinceSeq;
    const fresh = this.#pushed.filter((s) => since === undefined || s.seq > since);
    this.#pushed = [];
    if (since === undefined || fresh.length === 0) return null;
    if (!fresh.every((sample, i) => sample.seq === since + 1 + i)) return null;
    this.#sinceSeq = since + fresh.length;
    return fresh;
  }

  /**
   * The session to tear the agent down with: the attached one, else the outcome of an attempt
   * under way, else a new attachment.
   */
  async forTeardown(): Promise<AgentClient> {
    const attached = this.client;
    if (attached !== null) return attached;
    const pending = this.#attempt;
    this.#attempt = null;
    const outcome = pending === null ? null : await pending;
    if (outcome?.ok) return outcome.client;
    return await this.attach();
  }

  /** Ends the session (the daemon stays), after any attempt under way; idempotent. */
  async close(): Promise<void> {
    const pending = this.#attempt;
    this.#attempt = null;
    const outcome = pending === null ? null : await pending;
    if (outcome?.ok && outcome.client !== this.#client) await outcome.client.close();
    await this.#client?.close().catch(() => undefined);
  }
}
