/**
 * `phased`: alternates between kv-like and stream-like behaviour on a schedule, over one cache
 * (kv on the first half of the dataset, stream on the second half).
 * @module
 */
import type { PageCache } from "../memserver/client/page_cache.ts";
import { parseDurationMs } from "../common/units.ts";
import { type KvOptions, KvWorkload } from "./kv.ts";
import { type StreamOptions, StreamWorkload } from "./stream.ts";
import type { PageRange, Workload } from "./workload.ts";

/** One phase of a schedule. */
export interface Phase {
  kind: "kv" | "stream";
  durationMs: number;
}

/** Parses a schedule such as "kv:10s,stream:5s" (repeated in a loop). */
export function parseSchedule(text: string): Phase[] {
  const phases = text.split(",").map((part) => {
    const [kind, duration] = part.trim().split(":");
    if ((kind !== "kv" && kind !== "stream") || duration === undefined) {
      throw new RangeError(
        `Invalid phase "${part}" in schedule "${text}": expected kv:DURATION or stream:DURATION`,
      );
    }
    const durationMs = parseDurationMs(duration);
    if (durationMs <= 0) throw new RangeError(`Phase "${part}" must last longer than 0`);
    return { kind, durationMs } satisfies Phase;
  });
  if (phases.length === 0) throw new RangeError("The schedule has no phase");
  return phases;
}

/** Per-phase-kind totals. */
interface PhaseTotals {
  ops: number;
  ms: number;
}

/** The phased workload. */
export class PhasedWorkload implements Workload {
  readonly name = "phased";
  readonly #kv: KvWorkload;
  readonly #stream: StreamWorkload;
  readonly #schedule: Phase[];
  readonly #nowMs: () => number;
  #phase = 0;
  #phaseStartMs: number | undefined;
  readonly #totals: Record<Phase["kind"], PhaseTotals> = {
    kv: { ops: 0, ms: 0 },
    stream: { ops: 0, ms: 0 },
  };

  /** Splits `range` between a kv half and a stream half. */
  constructor(
    range: PageRange,
    options: {
      pageBytes: number;
      schedule: Phase[];
      kv?: KvOptions;
      stream?: StreamOptions;
      nowMs?: () => number;
    },
  ) {
    const half = Math.floor(range.pages / 2);
    this.#kv = new KvWorkload(
      { firstPage: range.firstPage, pages: half },
      options.pageBytes,
      options.kv,
    );
    this.#stream = new StreamWorkload(
      { firstPage: range.firstPage + half, pages: range.pages - half },
      options.stream,
    );
    this.#schedule = options.schedule;
    this.#nowMs = options.nowMs ?? (() => performance.now());
  }

  /** The kind of the current phase. */
  get currentPhase(): Phase["kind"] {
    return this.#schedule[this.#phase]?.kind ?? "kv";
  }

  /** Loads both halves. */
  async load(cache: PageCache): Promise<void> {
    await this.#kv.load(cache);
    await this.#stream.load(cache);
  }

  /** Runs a step of the current phase, moving to the next phase when its time is up. */
  async step(cache: PageCache): Promise<number> {
    const now = this.#nowMs();
    this.#phaseStartMs ??= now;
    const phase = this.#schedule[this.#phase];
    if (phase === undefined) throw new Error("unreachable: empty schedule");
    if (now - this.#phaseStartMs >= phase.durationMs) {
      this.#phase = (this.#phase + 1) % this.#schedule.length;
      this.#phaseStartMs = now;
    }
    const kind = this.currentPhase;
    const ops = await (kind === "kv" ? this.#kv.step(cache) : this.#stream.step(cache));
    this.#totals[kind].ops += ops;
    this.#totals[kind].ms += this.#nowMs() - now;
    return ops;
  }

  /** Operations and time per phase kind. */
  report(): Record<string, unknown> {
    const rate = (t: PhaseTotals) => (t.ms > 0 ? (t.ops * 1000) / t.ms : 0);
    return {
      currentPhase: this.currentPhase,
      phases: {
        kv: { ...this.#totals.kv, opsPerSec: rate(this.#totals.kv), ...this.#kv.report() },
        stream: {
          ...this.#totals.stream,
          opsPerSec: rate(this.#totals.stream),
          ...this.#stream.report(),
        },
      },
    };
  }
}
