/**
 * The ssh options a playbook may not set in `ssh.options`: those that would weaken host-key
 * checking, and those spirit sets itself (connection sharing, batch mode, timeouts, and what
 * has its own playbook field). spirit's own `-o` options come first on the command line and ssh
 * keeps the first value it gets, so a user value for these would be ignored at best. Pure.
 *
 * Allowed, among others: `ProxyJump` and `ProxyCommand` (the target's host key is still checked
 * against the known hosts), `CheckHostIP` (an extra check), `HostKeyAlias`, `Ciphers`,
 * `Compression`, `IdentityAgent`, `SendEnv`.
 * @module
 */

/** Refused option names (lower case: ssh option names are case-insensitive) and why. */
export const REFUSED_SSH_OPTIONS: Readonly<Record<string, string>> = {
  stricthostkeychecking:
    'it decides whether unknown host keys are trusted; use ssh.strictHostKeyChecking ("yes" or "accept-new")',
  userknownhostsfile:
    "it decides which host keys are trusted; use ssh.knownHostsFile (a known_hosts file)",
  globalknownhostsfile: "it decides which host keys are trusted; use ssh.knownHostsFile",
  knownhostscommand: "it decides which host keys are trusted; use ssh.knownHostsFile",
  verifyhostkeydns: "it trusts host keys published in DNS; use ssh.knownHostsFile",
  nohostauthenticationforlocalhost: "it turns host-key checking off for localhost",
  batchmode: "spirit runs ssh in batch mode (it never prompts)",
  controlmaster: "spirit manages connection sharing itself",
  controlpath: "spirit manages connection sharing itself (a socket in a private directory)",
  controlpersist: "spirit manages connection sharing itself",
  connecttimeout: "use ssh.connectTimeout",
  serveraliveinterval: "spirit sets it to detect dead connections",
  serveralivecountmax: "spirit sets it to detect dead connections",
  identityfile: "use ssh.identityFile",
  port: "use ssh.port",
  user: "use ssh.user",
};

/** Why `name` may not be set in `ssh.options`, or undefined when it may. */
export function refusedSshOption(name: string): string | undefined {
  return Object.hasOwn(REFUSED_SSH_OPTIONS, name.toLowerCase())
    ? REFUSED_SSH_OPTIONS[name.toLowerCase()]
    : undefined;
}
