/**
 * Faults injected into a simulation, at virtual times (ms since the run started). Instant
 * faults happen once at `atMs`; windows last from `fromMs` until `untilMs`. Pure.
 * @module
 */

/** A fault to inject. */
export type SimFault =
  /** The app's process crashes (exit status 1). */
  | { kind: "app-crash"; app: string; atMs: number }
  /** The app's process ends by itself (exit status 0). */
  | { kind: "app-exit"; app: string; atMs: number }
  /** The host's agent sessions end (a dropped connection); the daemon and its apps go on. */
  | { kind: "agent-session-lost"; host: string; atMs: number }
  /** The host's agent daemon dies, and its apps with it. */
  | { kind: "agent-daemon-killed"; host: string; atMs: number }
  /** The memory server on the host dies; the far-memory apps using it crash. */
  | { kind: "memserver-killed"; host: string; atMs: number }
  /** The host cannot be reached: its sessions end, new commands and sessions fail. */
  | { kind: "host-unreachable"; host: string; fromMs: number; untilMs: number }
  /** The agent answers set-allocation for the app with an error. */
  | { kind: "enforcement-fails"; app: string; fromMs: number; untilMs: number }
  /** The agent answers launch for the app with an error. */
  | { kind: "launch-fails"; app: string; fromMs: number; untilMs: number }
  /** The agent answers samples with an error. */
  | { kind: "samples-fail"; host: string; fromMs: number; untilMs: number };

/** Instant faults. */
export type InstantFault = Extract<SimFault, { atMs: number }>;
/** Faults that last a while. */
export type WindowFault = Extract<SimFault, { fromMs: number }>;

/** True for a fault with a window. */
export function isWindow(fault: SimFault): fault is WindowFault {
  return "fromMs" in fault;
}

/** When a fault starts. */
export function startOf(fault: SimFault): number {
  return isWindow(fault) ? fault.fromMs : fault.atMs;
}

/** The window fault of `kind` for `subject` (an app or a host) active at `nowMs`, if any. */
export function activeWindow(
  faults: readonly SimFault[],
  kind: WindowFault["kind"],
  subject: string,
  nowMs: number,
): WindowFault | undefined {
  return faults.filter(isWindow).find((f) =>
    f.kind === kind && ("app" in f ? f.app : f.host) === subject && f.fromMs <= nowMs &&
    nowMs < f.untilMs
  );
}
