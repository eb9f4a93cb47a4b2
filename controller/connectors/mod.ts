/**
 * Connectors: how the controller reaches hosts (this machine, or OpenSSH).
 * @module
 */
export type * from "./types.ts";
export { ExecTimeoutError, RemoteCommandError, SshConnectionError } from "./errors.ts";
export { LocalConnector } from "./local.ts";
export { SshConnector, type SshConnectorOptions } from "./ssh.ts";
export { quoteArgv } from "./shell_quote.ts";
export { closeAll, connectorFor, type HostOutcome, onHosts } from "./connect.ts";
