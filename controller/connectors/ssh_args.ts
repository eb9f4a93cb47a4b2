/**
 * The ssh client's command line for a host: connection multiplexing, strict host keys,
 * timeouts and batch mode, with the user's ~/.ssh/config still honoured for anything the
 * playbook leaves unset. Pure.
 * @module
 */
import type { SshTarget } from "../playbook/types.ts";

/**
 * The key exchange spirit asks for unless the playbook's `ssh.options` set `KexAlgorithms`:
 * X25519. OpenSSH 9.0 to 9.8 prefer the hybrid post-quantum sntrup761x25519, whose key
 * generation costs the client about 100 ms of CPU per connection (0.08 to 0.14 s measured here,
 * X25519 0.02 s): the controller opens one connection per host, so a 32-host `spirit check`
 * spent 3 s of its CPU on it. Set `KexAlgorithms` in `ssh.options` to choose another.
 */
export const DEFAULT_KEX_ALGORITHMS = "curve25519-sha256,curve25519-sha256@libssh.org";

/** Options of {@linkcode sshArgs}. */
export interface SshArgsOptions {
  /** ControlPath for the master connection (a socket in a private directory). */
  controlPath: string;
  /** Seconds the master connection stays open after the last session (default 60). */
  controlPersistSec?: number;
}

/**
 * Returns the ssh options (everything between `ssh` and the destination) for `target`.
 * spirit's own options come first, so they take precedence (ssh keeps the first value it gets):
 * playbook `options` cannot turn off host-key checking, batch mode or connection sharing
 * (validation refuses those names too, see controller/playbook/ssh_options.ts).
 * @example sshArgs({ host: "h", ... }, { controlPath: "/tmp/d/%C" })
 */
export function sshArgs(target: SshTarget, options: SshArgsOptions): string[] {
  const args: string[] = [];
  const opt = (key: string, value: string) => args.push("-o", `${key}=${value}`);
  opt("BatchMode", "yes");
  opt("StrictHostKeyChecking", target.strictHostKeyChecking);
  if (target.knownHostsFile !== undefined) {
    opt("UserKnownHostsFile", target.knownHostsFile);
    opt("GlobalKnownHostsFile", "/dev/null");
  }
  opt("ConnectTimeout", String(Math.max(1, Math.ceil(target.connectTimeoutMs / 1000))));
  opt("ServerAliveInterval", "5");
  opt("ServerAliveCountMax", "3");
  opt("ControlMaster", "auto");
  opt("ControlPath", options.controlPath);
  opt("ControlPersist", String(options.controlPersistSec ?? 60));
  if (target.identityFile !== undefined) {
    args.push("-i", target.identityFile);
    opt("IdentitiesOnly", "yes");
  }
  if (target.port !== undefined) args.push("-p", String(target.port));
  if (target.user !== undefined) args.push("-l", target.user);
  for (const [key, value] of Object.entries(target.options)) opt(key, value);
  if (!Object.keys(target.options).some((key) => key.toLowerCase() === "kexalgorithms")) {
    opt("KexAlgorithms", DEFAULT_KEX_ALGORITHMS);
  }
  return args;
}

/** ssh's own stderr lines that mean the connection failed but a retry may succeed. */
const TRANSIENT =
  /ssh: connect to host|Connection (refused|timed out|reset|closed)|kex_exchange_identification|No route to host|Network is unreachable|Could not resolve hostname|Temporary failure in name resolution|mux_client|Control socket connect|Broken pipe|banner exchange/i;
/** Failures a retry cannot fix. */
const PERMANENT =
  /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|Permission denied|Too many authentication failures|No such file or directory.*identity|Bad configuration option|command-line line/i;

/** Classifies an ssh exit with status 255 from its stderr. */
export function classifySshFailure(stderr: string): "transient" | "permanent" | "unknown" {
  if (PERMANENT.test(stderr)) return "permanent";
  if (TRANSIENT.test(stderr)) return "transient";
  return "unknown";
}
