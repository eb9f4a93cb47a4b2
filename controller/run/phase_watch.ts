/**
 * Phase changes of apps that report their phase in their samples (phased far-memory
 * workloads): the loop turns each into a `phase` event, timed by the first sample that showed
 * the new phase. Pure.
 * @module
 */
import type { AppSample } from "../../agent/protocol.ts";

/** One app changing phase, as its samples showed it. */
export interface ObservedPhaseChange {
  app: string;
  /** The phase left. */
  from: string;
  to: string;
  /**
   * How long before the app's newest sample of this collection the new phase was first seen
   * (agent clock differences only, so clock skew between hosts does not matter), ms.
   */
  agoMs: number;
}

/** Remembers each app's last reported phase across collections. */
export class PhaseWatch {
  readonly #last = new Map<string, string>();

  /**
   * The phase changes in one collection of samples (per app, in time order). The first phase
   * an app reports is where it starts, not a change; an app that reports no phase has none.
   */
  observe(samples: ReadonlyMap<string, readonly AppSample[]>): ObservedPhaseChange[] {
    const changes: ObservedPhaseChange[] = [];
    for (const [app, list] of samples) {
      const newest = list.at(-1);
      if (newest === undefined) continue;
      for (const sample of list) {
        if (sample.phase === undefined) continue;
        const from = this.#last.get(app);
        this.#last.set(app, sample.phase);
        if (from === undefined || from === sample.phase) continue;
        changes.push({
          app,
          from,
          to: sample.phase,
          agoMs: Math.max(0, newest.timeMs - sample.timeMs),
        });
      }
    }
    return changes;
  }
}
