/**
 * How the parts of a run report what happens: an `Emit` function that records a RunEvent
 * (events.jsonl and the terminal), and the events an agent's own messages become.
 * @module
 */
import type { AgentEvent, AppExit } from "../../agent/protocol.ts";
import type { RunEvent } from "../results/types.ts";
import { remoteSwapEventBody } from "./remote_swap_events.ts";

/**
 * A run event as its parts emit it: the run stamps the time, unless the event brings its own
 * (e.g. a phase change, timed by the sample that showed it).
 */
export type RunEventBody = Omit<RunEvent, "time"> & { time?: string };

/** Records one event; resolves once it is written. */
export type Emit = (event: RunEventBody) => Promise<void>;

/**
 * The kinds of fault a run names in `details.fault` (the live metrics count faults by them):
 * - `agent-lost`: an agent session ended (lost connection, killed session or daemon);
 * - `agent-daemon-lost`: the session re-attached to a new daemon: the old one and its apps died;
 * - `host-unreachable`: re-attaching failed, or the agent stopped answering;
 * - `memserver-exited`, `memserver-restart-failed`: a memory server died, or could not restart;
 * - `app-crashed` (signal or non-zero status), `app-exited` (status 0, a `stop` event);
 * - `relaunch-failed`, `app-given-up` (relaunched too often in a row: left down);
 * - `enforcement-failed`: an allocation was not applied (retried next epoch);
 * - `collect-failed`: no samples from a host this epoch (a `gap` event);
 * - `start-failed`, `run-failed`: the run could not start, or ended on an error.
 */
export const FAULT_SLUGS = [
  "agent-lost",
  "agent-daemon-lost",
  "host-unreachable",
  "memserver-exited",
  "memserver-restart-failed",
  "app-crashed",
  "app-exited",
  "relaunch-failed",
  "app-given-up",
  "enforcement-failed",
  "collect-failed",
  "start-failed",
  "run-failed",
] as const;

/** One of {@linkcode FAULT_SLUGS}. */
export type FaultSlug = typeof FAULT_SLUGS[number];

/** `details` naming the kind of a fault, merged with `extra`. */
export function faultDetails(
  fault: FaultSlug,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { fault, ...extra };
}

/** True when an app's exit is a crash (a signal or a non-zero status), not a normal end. */
export function isCrash(exit: AppExit): boolean {
  return exit.signal !== null || exit.code !== 0;
}

/** Describes an app's exit, e.g. "exit status 1" or "signal SIGKILL". */
export function describeExit(exit: AppExit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `exit status ${exit.code}`;
}

/**
 * The run event for an agent's `app-exited`, `remote-swap` or `warning` message on `host` (null
 * for the messages that are not events: samples, attachment).
 */
export function agentEventBody(host: string, event: AgentEvent): RunEventBody | null {
  switch (event.event) {
    case "app-exited":
      return isCrash(event.exit)
        ? {
          kind: "fault",
          host,
          app: event.appId,
          message: `app crashed (${describeExit(event.exit)})`,
          details: faultDetails("app-crashed", { exit: event.exit }),
        }
        : {
          kind: "stop",
          host,
          app: event.appId,
          message: `app exited by itself (${describeExit(event.exit)})`,
          details: faultDetails("app-exited", { exit: event.exit }),
        };
    case "remote-swap":
      return remoteSwapEventBody(host, event);
    case "warning":
      return {
        kind: "warning",
        host,
        ...(event.appId === undefined ? {} : { app: event.appId }),
        message: event.message,
      };
    default:
      return null;
  }
}
