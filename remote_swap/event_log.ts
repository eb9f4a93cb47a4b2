/**
 * The swap daemon's event log: every event appended to `events.jsonl` (with its time) and
 * handed to the control socket's watchers.
 * @module
 */
import type { SwapEvent } from "./backend.ts";
import type { DaemonEvent } from "./protocol.ts";

/** An event as logged and streamed. */
export type TimedEvent = DaemonEvent & { timeMs: number };

/** Appends events to a file and hands them to watchers. */
export class EventLog {
  readonly #path: string;
  readonly #listeners = new Set<(event: TimedEvent) => void>();

  /** Logs to `path` (created 0600 on the first event). */
  constructor(path: string) {
    this.#path = path;
  }

  /** Records an event and hands it to every watcher. */
  append(event: DaemonEvent | SwapEvent): void {
    const line: TimedEvent = { ...event, timeMs: Date.now() };
    try {
      Deno.writeTextFileSync(this.#path, JSON.stringify(line) + "\n", {
        append: true,
        mode: 0o600,
      });
    } catch (error) {
      // The device directory is removed last, after the final events; later ones only stream.
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    for (const listener of this.#listeners) listener(line);
  }

  /** Subscribes; returns the unsubscribe function. */
  watch(listener: (event: TimedEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
