/**
 * The run's time axis: where events (faults, restarts, gaps, phase changes, app exits) fall
 * relative to the run's start, the constructor of the phase-change event, and the phase changes
 * of a run from its events or from its phased workloads' schedules. Pure.
 * @module
 */
import type { EpochRecord, RunEvent } from "./types.ts";

/** Events marked on the time charts, by category. */
export const MARKER_CATEGORIES = ["fault", "restart", "gap", "phase", "exit"] as const;
/** One category of marked event. */
export type MarkerCategory = typeof MARKER_CATEGORIES[number];

/** An event without its time (what the run loop emits; the writer stamps the time). */
export type UntimedEvent = Omit<RunEvent, "time">;

/**
 * The event recording that `app` changed phase (e.g. from "kv" to "stream").
 * @example phaseChangeEvent("phases", { from: "kv", to: "stream", host: "cn1" })
 */
export function phaseChangeEvent(
  app: string,
  change: { to: string; from?: string; host?: string },
): UntimedEvent {
  return {
    kind: "phase",
    app,
    ...(change.host === undefined ? {} : { host: change.host }),
    message: `phase ${change.from === undefined ? "" : `${change.from} -> `}${change.to}`,
    details: { to: change.to, ...(change.from === undefined ? {} : { from: change.from }) },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The marker category of an event, or null when it is not marked. An app that ended is an
 * event about the app with `details.exit` (the run records a crash as a `fault`, which stays a
 * fault, and an app that exited by itself as a `stop`, which becomes an exit). Read
 * defensively: a `details.phaseChange` object also counts as a phase change.
 */
export function eventCategory(event: RunEvent): MarkerCategory | null {
  const details = isRecord(event.details) ? event.details : {};
  if (event.kind === "phase" || isRecord(details.phaseChange)) return "phase";
  if (event.kind === "fault" || event.kind === "restart" || event.kind === "gap") {
    return event.kind;
  }
  if (event.app !== undefined && details.exit !== undefined) return "exit";
  return null;
}

/** Wall-clock time (ms since the epoch) of the run's elapsed time 0, from its first record. */
export function runStartMs(records: readonly EpochRecord[]): number | null {
  const first = records[0];
  if (first === undefined) return null;
  const start = Date.parse(first.time) - first.elapsedMs;
  return Number.isFinite(start) ? start : null;
}

/** One marked event on the time axis. */
export interface TimelineMarker {
  /** Seconds since the run started. */
  seconds: number;
  category: MarkerCategory;
  app: string | null;
  label: string;
}

/** The marked events of a run, in order of time (events without a usable time are left out). */
export function timelineMarkers(
  records: readonly EpochRecord[],
  events: readonly RunEvent[],
): TimelineMarker[] {
  const start = runStartMs(records);
  if (start === null) return [];
  return events.flatMap((e) => {
    const category = eventCategory(e);
    const seconds = (Date.parse(e.time) - start) / 1000;
    if (category === null || !Number.isFinite(seconds)) return [];
    return [{
      seconds,
      category,
      app: e.app ?? null,
      label: `${e.kind}${e.app ? ` ${e.app}` : ""}${e.host ? ` on ${e.host}` : ""}: ${e.message}`,
    }];
  }).sort((a, b) => a.seconds - b.seconds);
}

/** A change of phase of one app. */
export interface PhaseChange {
  app: string;
  /** Milliseconds since the run started. */
  atMs: number;
  /** The phase entered, when known. */
  to: string | null;
  /** From a recorded event, or computed from the phased workload's schedule in playbook.json. */
  source: "event" | "schedule";
}

/** What the phase schedule needs of playbook.json (read defensively: it is a file). */
export interface PhasedAppsSource {
  apps?: unknown;
}

function scheduleOf(app: unknown): { name: string; phases: { to: string; ms: number }[] } | null {
  if (!isRecord(app) || typeof app.name !== "string" || !isRecord(app.workload)) return null;
  const { kind, phases } = app.workload;
  if (kind !== "phased" || !Array.isArray(phases)) return null;
  const parsed = phases.flatMap((p) =>
    isRecord(p) && typeof p.kind === "string" && typeof p.durationMs === "number" &&
      p.durationMs > 0
      ? [{ to: p.kind, ms: p.durationMs }]
      : []
  );
  return parsed.length < 2 ? null : { name: app.name, phases: parsed };
}

/**
 * Phase changes of a run, in order of time. An app with phase events is taken from its events;
 * a phased workload without any is taken from its schedule in playbook.json, counted from the
 * run's start (the workload's own clock starts when it is launched, slightly earlier, so these
 * times are approximate). Changes after the last record are left out.
 */
export function phaseChanges(input: {
  records: readonly EpochRecord[];
  events: readonly RunEvent[];
  playbook?: PhasedAppsSource | null;
}): PhaseChange[] {
  const start = runStartMs(input.records);
  const endMs = input.records.at(-1)?.elapsedMs ?? 0;
  if (start === null) return [];
  const changes: PhaseChange[] = [];
  for (const e of input.events) {
    if (eventCategory(e) !== "phase" || e.app === undefined) continue;
    const atMs = Date.parse(e.time) - start;
    if (!Number.isFinite(atMs) || atMs > endMs) continue;
    const details = isRecord(e.details) ? e.details : {};
    const nested = isRecord(details.phaseChange) ? details.phaseChange : {};
    const to = details.to ?? nested.to;
    changes.push({ app: e.app, atMs, to: typeof to === "string" ? to : null, source: "event" });
  }
  const withEvents = new Set(changes.map((c) => c.app));
  const apps = Array.isArray(input.playbook?.apps) ? input.playbook.apps : [];
  for (const app of apps) {
    const schedule = scheduleOf(app);
    if (schedule === null || withEvents.has(schedule.name)) continue;
    let atMs = 0;
    for (let i = 0;; i++) {
      const phase = schedule.phases[i % schedule.phases.length] as { to: string; ms: number };
      atMs += phase.ms;
      if (atMs > endMs) break;
      const next = schedule.phases[(i + 1) % schedule.phases.length] as { to: string };
      changes.push({ app: schedule.name, atMs, to: next.to, source: "schedule" });
    }
  }
  return changes.sort((a, b) => a.atMs - b.atMs);
}
