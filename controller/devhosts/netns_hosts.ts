/**
 * Development hosts: N hosts as network namespaces joined by veth pairs to a bridge with private
 * addresses (10.77.<random>.0/24), each running its own sshd (generated host keys, a generated
 * client key, a known_hosts file, sshd listening only on the namespace address), with optional
 * tc rate limits (tbf) on a host's link. Everything it creates carries one unique prefix and
 * is removed by `close()` (idempotent); a crashed run's leftovers are removed by the next
 * fixture (`cleanupStaleNetnsHosts`), recognised by an owner pid that is no longer alive.
 * Needs root, iproute2 and openssh-server.
 * @module
 */
import { parseRateBytesPerSec } from "../../common/units.ts";
import type { SshTarget } from "../playbook/types.ts";

/** Where fixtures keep their keys, configs and owner pid, one directory per prefix. */
export const NETNS_STATE_DIR = "/tmp/spirit-netns";
const PREFIX_PATTERN = /^spx[0-9a-f]{5}$/;

/** One namespaced host. */
export interface NetnsHost {
  /** "h0", "h1", ... */
  name: string;
  /** The network namespace's name. */
  netns: string;
  /** The host's address on the bridge. */
  address: string;
  /** How to reach its sshd (root, the generated key, the fixture's known_hosts). */
  ssh: SshTarget;
}

/** Options of {@linkcode createNetnsHosts}. */
export interface NetnsHostsOptions {
  /** Rate limit on a host's link, both directions, by host index ("100Mbps", bytes/s). */
  rateLimits?: Record<number, string | number>;
  /** Lines added to every host's sshd_config (e.g. "AllowStreamLocalForwarding no"). */
  sshdConfig?: readonly string[];
}

async function run(argv: string[], options: { allowFail?: boolean } = {}): Promise<string> {
  const [program, ...args] = argv;
  const out = await new Deno.Command(program ?? "false", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.code !== 0 && options.allowFail !== true) {
    throw new Error(
      `Fixture command ${JSON.stringify(argv)} failed (${out.code}): ${stderr.trim()}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

function isAlive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    if (error instanceof Deno.errors.PermissionDenied) return true;
    // Deno reports ESRCH as a generic error on some versions.
    return !/ESRCH|No such process/.test(String(error));
  }
}

/** Removes every resource named with `prefix` (processes in its namespaces, namespaces, links, state). */
export async function cleanupNetnsPrefix(prefix: string): Promise<void> {
  if (!PREFIX_PATTERN.test(prefix)) throw new RangeError(`Not a fixture prefix: "${prefix}"`);
  const namespaces = (await run(["ip", "netns", "list"]))
    .split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) => n.startsWith(`${prefix}-`));
  for (const ns of namespaces) {
    const pids = (await run(["ip", "netns", "pids", ns], { allowFail: true }))
      .split("\n").filter((p) => /^[0-9]+$/.test(p)).map(Number);
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch (error) {
        // Already gone between listing and killing.
        if (!(error instanceof Deno.errors.NotFound) && !/ESRCH/.test(String(error))) throw error;
      }
    }
    await run(["ip", "netns", "del", ns], { allowFail: true });
  }
  const links = (await run(["ip", "-o", "link", "show"]))
    .split("\n").map((l) => /^[0-9]+: ([^:@]+)/.exec(l)?.[1] ?? "")
    .filter((n) => n.startsWith(prefix));
  // Deleting the bridge last; veths vanish with their namespace peer anyway.
  for (
    const link of links.sort((a, b) => (a.endsWith("br") ? 1 : 0) - (b.endsWith("br") ? 1 : 0))
  ) {
    await run(["ip", "link", "del", link], { allowFail: true });
  }
  await Deno.remove(`${NETNS_STATE_DIR}/${prefix}`, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}

/** Removes leftovers of fixtures whose owning process is gone (a crashed or killed test run). */
export async function cleanupStaleNetnsHosts(): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[] = [];
  try {
    entries = await Array.fromAsync(Deno.readDir(NETNS_STATE_DIR));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return removed;
    throw error;
  }
  for (const entry of entries) {
    if (!PREFIX_PATTERN.test(entry.name)) continue;
    const dir = `${NETNS_STATE_DIR}/${entry.name}`;
    let owner = 0;
    try {
      owner = Number(await Deno.readTextFile(`${dir}/owner.pid`));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      // No owner yet: a fixture may be starting right now; only old directories are stale.
      const age = Date.now() - ((await Deno.stat(dir)).mtime?.getTime() ?? 0);
      if (age < 60_000) continue;
    }
    if (owner > 0 && isAlive(owner)) continue;
    await cleanupNetnsPrefix(entry.name);
    removed.push(entry.name);
  }
  return removed;
}

/** A set of namespaced hosts; `close()` (or `await using`) removes everything. */
export class NetnsHosts implements AsyncDisposable {
  /** The unique prefix of every resource (namespaces, links, state directory). */
  readonly prefix: string;
  /** The fixture's private directory (keys, sshd configs, known_hosts). */
  readonly dir: string;
  /** The bridge's address in the root namespace (where the controller runs). */
  readonly gateway: string;
  readonly hosts: NetnsHost[] = [];
  readonly #sshds: Array<{ child: Deno.ChildProcess; drained: Promise<void> }> = [];
  #closed = false;

  /** Use {@linkcode createNetnsHosts}. */
  constructor(prefix: string, subnet: number) {
    this.prefix = prefix;
    this.dir = `${NETNS_STATE_DIR}/${prefix}`;
    this.gateway = `10.77.${subnet}.1`;
  }

  /** @internal Records a started sshd (and the drain of its log) so close() stops it. */
  addSshd(child: Deno.ChildProcess, drained: Promise<void>): void {
    this.#sshds.push({ child, drained });
  }

  /** Runs argv inside host `index`'s namespace (no SSH), returning stdout. */
  async execIn(index: number, argv: string[]): Promise<string> {
    const host = this.hosts[index];
    if (host === undefined) throw new RangeError(`No host ${index}`);
    return await run(["ip", "netns", "exec", host.netns, ...argv]);
  }

  /**
   * Takes host `index`'s link down or up again (its veth on the bridge side: the host drops
   * off the network, as with a pulled cable, while its processes keep running).
   */
  async setLink(index: number, state: "up" | "down"): Promise<void> {
    if (this.hosts[index] === undefined) throw new RangeError(`No host ${index}`);
    await run(["ip", "link", "set", `${this.prefix}v${index}`, state]);
  }

  /** Stops the sshds and removes namespaces, links and files; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const { child } of this.#sshds) {
      try {
        child.kill("SIGTERM");
      } catch (error) {
        // Already exited.
        if (!(error instanceof TypeError)) throw error;
      }
    }
    await Promise.all(this.#sshds.map(async ({ child, drained }) => {
      await drained;
      await child.status;
    }));
    await cleanupNetnsPrefix(this.prefix);
  }

  /** Same as `close`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function pickSubnet(): Promise<number> {
  const used = await run(["ip", "-o", "-4", "addr", "show"]);
  for (let attempt = 0; attempt < 50; attempt++) {
    const subnet = 1 + Math.floor(Math.random() * 250);
    if (!used.includes(` 10.77.${subnet}.`)) return subnet;
  }
  throw new Error("No free 10.77.x.0/24 subnet for the netns fixture");
}

function tbfArgs(device: string, bytesPerSec: number): string[] {
  const burst = Math.max(32 * 1024, Math.ceil(bytesPerSec / 100));
  return [
    "tc",
    "qdisc",
    "replace",
    "dev",
    device,
    "root",
    "tbf",
    "rate",
    `${Math.round(bytesPerSec * 8)}bit`,
    "burst",
    String(burst),
    "latency",
    "50ms",
  ];
}

/** Reads sshd's log until it listens, then keeps draining it; resolves the drain's promise. */
async function waitForListening(
  child: Deno.ChildProcess,
  what: string,
): Promise<{ drained: Promise<void> }> {
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/Server listening on/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`sshd for ${what} exited before listening: ${seen.trim()}`);
    seen += value;
  }
  // Keep draining sshd's log so it never blocks on a full pipe.
  const drained = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  return { drained };
}

/**
 * Creates `count` namespaced hosts with sshd; on any failure removes what it made, then throws.
 * @example await using net = await createNetnsHosts(2); net.hosts[0].ssh
 */
export async function createNetnsHosts(
  count: number,
  options: NetnsHostsOptions = {},
): Promise<NetnsHosts> {
  await cleanupStaleNetnsHosts();
  const prefix = `spx${crypto.randomUUID().replaceAll("-", "").slice(0, 5)}`;
  const subnet = await pickSubnet();
  const net = new NetnsHosts(prefix, subnet);
  try {
    await Deno.mkdir(net.dir, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(`${net.dir}/owner.pid`, String(Deno.pid));
    // sshd needs its privilege-separation directory; it is shared system state, left in place.
    await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
    const clientKey = `${net.dir}/id_client`;
    await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", prefix, "-f", clientKey]);
    await Deno.copyFile(`${clientKey}.pub`, `${net.dir}/authorized_keys`);
    const bridge = `${prefix}br`;
    await run(["ip", "link", "add", bridge, "type", "bridge"]);
    await run(["ip", "addr", "add", `${net.gateway}/24`, "dev", bridge]);
    await run(["ip", "link", "set", bridge, "up"]);
    const knownHosts: string[] = [];
    for (let i = 0; i < count; i++) {
      const ns = `${prefix}-h${i}`;
      const address = `10.77.${subnet}.${10 + i}`;
      const veth = `${prefix}v${i}`;
      await run(["ip", "netns", "add", ns]);
      await run([
        "ip",
        "link",
        "add",
        veth,
        "type",
        "veth",
        "peer",
        "name",
        `${prefix}p${i}`,
        "netns",
        ns,
      ]);
      await run(["ip", "link", "set", veth, "master", bridge, "up"]);
      const inNs = (argv: string[]) => run(["ip", "netns", "exec", ns, ...argv]);
      await inNs(["ip", "link", "set", `${prefix}p${i}`, "name", "eth0"]);
      await inNs(["ip", "addr", "add", `${address}/24`, "dev", "eth0"]);
      await inNs(["ip", "link", "set", "eth0", "up"]);
      await inNs(["ip", "link", "set", "lo", "up"]);
      const rate = options.rateLimits?.[i];
      if (rate !== undefined) {
        const bytesPerSec = parseRateBytesPerSec(rate);
        await run(tbfArgs(veth, bytesPerSec));
        await inNs(tbfArgs("eth0", bytesPerSec));
      }
      const hostDir = `${net.dir}/h${i}`;
      await Deno.mkdir(hostDir, { mode: 0o700 });
      const hostKey = `${hostDir}/ssh_host_ed25519_key`;
      await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", ns, "-f", hostKey]);
      const publicKey = (await Deno.readTextFile(`${hostKey}.pub`)).split(" ").slice(0, 2).join(
        " ",
      );
      knownHosts.push(`${address} ${publicKey}`);
      const config = `${hostDir}/sshd_config`;
      await Deno.writeTextFile(
        config,
        [
          `ListenAddress ${address}`,
          "Port 22",
          `HostKey ${hostKey}`,
          `PidFile ${hostDir}/sshd.pid`,
          `AuthorizedKeysFile ${net.dir}/authorized_keys`,
          "PermitRootLogin prohibit-password",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "UsePAM no",
          "StrictModes no",
          "MaxSessions 64",
          "MaxStartups 64",
          "LogLevel INFO",
          // Commands run as `bash -c` by sshd source the login user's ~/.bashrc only in a
          // top-level shell; SHLVL=1 makes them second-level. The namespaces share this
          // machine's home directories, so a developer's rc (e.g. pyenv init: 120 ms and a
          // lock per command) would otherwise slow down and serialise every SSH command.
          "SetEnv SHLVL=1",
          ...(options.sshdConfig ?? []),
          "",
        ].join("\n"),
      );
      const sshd = new Deno.Command("ip", {
        args: ["netns", "exec", ns, "/usr/sbin/sshd", "-D", "-e", "-f", config],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let drained: Promise<void>;
      try {
        ({ drained } = await waitForListening(sshd, ns));
      } catch (error) {
        sshd.kill("SIGKILL");
        await sshd.status;
        throw error;
      }
      net.addSshd(sshd, drained);
      net.hosts.push({
        name: `h${i}`,
        netns: ns,
        address,
        ssh: {
          host: address,
          user: "root",
          port: 22,
          identityFile: clientKey,
          knownHostsFile: `${net.dir}/known_hosts`,
          strictHostKeyChecking: "yes",
          connectTimeoutMs: 3000,
          options: {},
        },
      });
    }
    await Deno.writeTextFile(`${net.dir}/known_hosts`, knownHosts.join("\n") + "\n");
    return net;
  } catch (error) {
    await net.close();
    throw error;
  }
}
