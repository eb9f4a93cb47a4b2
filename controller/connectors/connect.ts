/**
 * Connectors for a playbook's hosts, and running one action on many hosts in parallel with
 * every host's outcome reported (one unreachable host does not hide the others).
 * @module
 */
import type { Host } from "../playbook/types.ts";
import { LocalConnector } from "./local.ts";
import { SshConnector, type SshConnectorOptions } from "./ssh.ts";
import type { Connector } from "./types.ts";

/** The connector for a playbook host: local when it has no `ssh`, OpenSSH otherwise. */
export function connectorFor(
  host: Pick<Host, "name" | "ssh">,
  options: SshConnectorOptions = {},
): Connector {
  return host.ssh === null
    ? new LocalConnector(host.name)
    : new SshConnector(host.name, host.ssh, options);
}

/** One host's outcome of {@linkcode onHosts}. */
export type HostOutcome<T> =
  | { host: string; ok: true; value: T }
  | { host: string; ok: false; error: unknown };

/**
 * Runs `action` on every connector at once and returns every outcome, in input order.
 * @example const outcomes = await onHosts(connectors, (c) => c.exec(["uname", "-r"]));
 */
export async function onHosts<T>(
  connectors: readonly Connector[],
  action: (connector: Connector) => Promise<T>,
): Promise<HostOutcome<T>[]> {
  const settled = await Promise.allSettled(connectors.map((c) => action(c)));
  return settled.map((s, i) => {
    const host = connectors[i]?.host ?? `#${i}`;
    return s.status === "fulfilled"
      ? { host, ok: true, value: s.value }
      : { host, ok: false, error: s.reason };
  });
}

/** Closes every connector, all attempted even if some fail; throws an AggregateError then. */
export async function closeAll(connectors: readonly Connector[]): Promise<void> {
  const failures = (await onHosts(connectors, (c) => c.close())).filter((o) => !o.ok);
  if (failures.length > 0) {
    throw new AggregateError(
      failures.map((f) => (f.ok ? undefined : f.error)),
      `Closing connections failed on ${failures.map((f) => f.host).join(", ")}`,
    );
  }
}
