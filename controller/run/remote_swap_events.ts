/**
 * What a change of a compute node's remote swap device means for the run: a lost memory-server
 * connection, lost pages, an unavailable memory server, a dead data path or daemon are `fault`
 * events named by a `details.fault` slug (the live metrics count them by it); a reconnection or
 * a replaced device is a `restart`. Pure.
 * @module
 */
import type { RemoteSwapChange, RemoteSwapEvent } from "../../agent/protocol.ts";
import type { RemovedDevice } from "../../remote_swap/protocol.ts";
import type { RunEvent } from "../results/types.ts";

/**
 * The `details.fault` slugs of remote swap faults:
 * - `remote-swap-disconnected`: a memory-server connection broke (swap I/O waits, retried);
 * - `remote-swap-lost`: pages stored remotely are gone (programs touching them get SIGBUS);
 * - `remote-swap-unavailable`: no connection within the retry budget (swap I/O fails, EIO);
 * - `remote-swap-io-failed`: an I/O thread of the data path stopped on an unexpected error;
 * - `remote-swap-dead`: the data path (engine) died: every swapped page is lost;
 * - `remote-swap-daemon-dead`: the swap daemon died (the data path serves on, unsupervised);
 * - `remote-swap-stop-failed`: removing the device failed (it stays active);
 * - `remote-swap-replace-failed`: a dead device could not be replaced (the node has none);
 * - `remote-swap-unsupervised`: the agent cannot watch or adopt the device.
 */
export const REMOTE_SWAP_FAULT_SLUGS = [
  "remote-swap-disconnected",
  "remote-swap-lost",
  "remote-swap-unavailable",
  "remote-swap-io-failed",
  "remote-swap-dead",
  "remote-swap-daemon-dead",
  "remote-swap-stop-failed",
  "remote-swap-replace-failed",
  "remote-swap-unsupervised",
] as const;

/** One of {@link REMOTE_SWAP_FAULT_SLUGS}. */
export type RemoteSwapFaultSlug = typeof REMOTE_SWAP_FAULT_SLUGS[number];

/** The run event kind of each change, and the fault slug of those that are faults. */
const MEANING: Record<
  RemoteSwapChange,
  { kind: "restart" } | { kind: "fault"; fault: RemoteSwapFaultSlug }
> = {
  "connection-lost": { kind: "fault", fault: "remote-swap-disconnected" },
  "reconnected": { kind: "restart" },
  "pages-lost": { kind: "fault", fault: "remote-swap-lost" },
  "unavailable": { kind: "fault", fault: "remote-swap-unavailable" },
  "worker-failed": { kind: "fault", fault: "remote-swap-io-failed" },
  "engine-exited": { kind: "fault", fault: "remote-swap-dead" },
  "daemon-exited": { kind: "fault", fault: "remote-swap-daemon-dead" },
  "stop-failed": { kind: "fault", fault: "remote-swap-stop-failed" },
  "replaced": { kind: "restart" },
  "replace-failed": { kind: "fault", fault: "remote-swap-replace-failed" },
  "unsupervised": { kind: "fault", fault: "remote-swap-unsupervised" },
};

/** The run event (without its time) for a remote swap change on compute host `host`. */
export function remoteSwapEventBody(
  host: string,
  event: RemoteSwapEvent,
): Omit<RunEvent, "time"> {
  const { event: _event, change, device, message, ...rest } = event;
  const meaning = MEANING[change];
  return {
    kind: meaning.kind,
    host,
    message: `remote swap ${device ?? "(no device)"}: ${message}`,
    details: {
      ...(meaning.kind === "fault" ? { fault: meaning.fault } : {}),
      remoteSwap: change,
      device,
      ...rest,
    },
  };
}

/** The `stop` event for the remote swap device of `host` removed at teardown, with its steps. */
export function remoteSwapRemovedBody(
  host: string,
  removed: RemovedDevice,
): Omit<RunEvent, "time"> {
  return {
    kind: "stop",
    host,
    message: `remote swap ${removed.device ?? removed.id} removed (${removed.removed.join(", ")})`,
    details: { remoteSwap: "removed", device: removed.device, steps: removed.removed },
  };
}
