/**
 * What a run needs from the outside world, passed in: how to reach a host, how to start spirit
 * there, and the clock. `realEdges()` is OpenSSH or local processes and the system clock; the
 * simulator passes in-process fakes (controller/simulate/).
 * @module
 */
import { connectorFor } from "../connectors/connect.ts";
import { Limiter } from "../connectors/limit.ts";
import type { Connector } from "../connectors/types.ts";
import type { Host } from "../playbook/types.ts";
import { type Clock, systemClock } from "./clock.ts";
import { deployRuntime } from "./deploy.ts";
import { localRuntime, type SpiritRuntime } from "./runtime.ts";

/** The edges of a run. */
export interface RunEdges {
  /** A connection to `host` (closed by the run at teardown). */
  connect(host: Host): Connector;
  /** How to start spirit on `host` (deploying it there first, when needed). */
  runtime(host: Host, connector: Connector): Promise<SpiritRuntime>;
  clock: Clock;
}

/**
 * The real edges: OpenSSH or local processes, the deployed runtime, the system clock. SSH work
 * on all hosts together takes slots of one limiter of `sshMaxParallel` (default: unbounded).
 */
export function realEdges(options: { sshMaxParallel?: number } = {}): RunEdges {
  const limiter = options.sshMaxParallel === undefined
    ? undefined
    : new Limiter(options.sshMaxParallel);
  return {
    connect: (host) => connectorFor(host, limiter === undefined ? {} : { limiter }),
    runtime: (host, connector) =>
      host.ssh === null ? Promise.resolve(localRuntime()) : deployRuntime(connector),
    clock: systemClock(),
  };
}
