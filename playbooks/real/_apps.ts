/**
 * Building blocks of the real-program playbooks: the hosts (everything on this machine) and
 * the apps (Debian's memcached and redis-server driven by `spirit loadgen`, a bandwidth-bound
 * scan, mbw). The apps name no swap device, so they swap to the node's default: its remote
 * swap device where the machine can host one (_swap.ts), else every active swap device (the
 * loop-device swap that setup.ts prepares).
 * @module
 */
import type { PlaybookSpec } from "../../mod.ts";
import { realSwap } from "./_swap.ts";

type HostsSpec = PlaybookSpec["hosts"];
type AppSpec = PlaybookSpec["apps"][number];

/** Where playbooks/real/setup.ts keeps its files (swap image, the scan program). */
export const REAL_APPS_DIR = "/var/tmp/spirit-real-apps";
/** The scan program setup.ts builds from playbooks/real/scan.c. */
export const SCAN_PROGRAM = `${REAL_APPS_DIR}/bin/scan`;

/**
 * A free TCP port on loopback, chosen when the playbook is loaded (a server and its driver
 * agree on it; Debian's own memcached or redis services keep their default ports).
 */
export function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** The remote swap device's priority: the highest, so the node's other swap devices come after it. */
export const REMOTE_SWAP_PRIORITY = 32767;
/** Size of the remote swap device, and the memory server's capacity that holds its pages. */
const REMOTE_SWAP_SIZE = "2GiB";

/**
 * This machine as one compute node sharing `cache` and `bandwidth`, and a memory node. Where the
 * machine can host it (see _swap.ts, `SPIRIT_REAL_SWAP`), the node has spirit's remote swap
 * device, its pages on the memory node's server, above every other swap device (priority
 * 32767); otherwise the apps swap to the node's own swap devices (setup.ts's loop swap).
 */
export function realHosts(node: { cache: string; bandwidth: string }): HostsSpec {
  const remote = realSwap().kind === "remote";
  return {
    mem: {
      role: "memory",
      memserver: { capacity: remote ? REMOTE_SWAP_SIZE : "16MiB", transport: "tcp", port: 0 },
    },
    node: {
      role: "compute",
      memoryNode: "mem",
      ...node,
      ...(remote ? { remoteSwap: { size: REMOTE_SWAP_SIZE, priority: REMOTE_SWAP_PRIORITY } } : {}),
    },
  };
}

/**
 * The least cache each program gets, whatever the policy decides: an unmodified program whose
 * memory limit goes to (nearly) zero is killed by the kernel's OOM killer (seen here when
 * warm-up probing gave a program the whole cache and its neighbour none), and a server needs
 * its hash table and buffers resident to serve at all.
 */
const SERVER_MIN_CACHE = "32MiB";
const SCAN_MIN_CACHE = "16MiB";

/** The key-value load of a server app. */
export interface KvLoad {
  /** Distinct keys; the data set is about keys x valueSize plus the server's overhead. */
  keys: number;
  valueSize: string;
  skew?: number;
  readRatio?: number;
}

function loadgen(protocol: "memcached" | "redis", port: number, load: KvLoad) {
  return {
    loadgen: {
      protocol,
      server: `127.0.0.1:${port}`,
      keys: load.keys,
      valueSize: load.valueSize,
      ...(load.skew === undefined ? {} : { skew: load.skew }),
      ...(load.readRatio === undefined ? {} : { readRatio: load.readRatio }),
      connections: 2,
      pipeline: 8,
    },
  };
}

/** A server on a free loopback port (`argv` is given the port), driven by spirit loadgen. */
function serverApp(
  protocol: "memcached" | "redis",
  options: { name: string; load: KvLoad; argv: (port: number) => string[] },
): AppSpec {
  const port = freeLoopbackPort();
  return {
    name: options.name,
    host: "node",
    command: { argv: options.argv(port), driver: loadgen(protocol, port, options.load) },
    limits: { minCache: SERVER_MIN_CACHE },
  };
}

/** Debian's memcached, driven by spirit loadgen (cache-sensitive). */
export function memcachedApp(load: KvLoad, name = "memcached"): AppSpec {
  // -m only caps item memory (no eviction below it); -u root: the agent runs as root. A hash
  // table sized for the keys up front and no background LRU threads: otherwise hash expansion
  // and LRU maintenance touch every item and, once swapped, the fill took about 4 times longer
  // here (57 s instead of 15 s for 200,000 keys under 128 MiB).
  const hashpower = Math.max(16, Math.ceil(Math.log2(load.keys * 1.5)));
  return serverApp("memcached", {
    name,
    load,
    argv: (port) => [
      "memcached",
      "-u",
      "root",
      "-l",
      "127.0.0.1",
      "-p",
      String(port),
      "-m",
      "4096",
      "-o",
      `hashpower=${hashpower},no_lru_crawler,no_lru_maintainer`,
    ],
  });
}

/** Debian's redis-server without persistence, driven by spirit loadgen (cache-sensitive). */
export function redisApp(load: KvLoad, name = "redis"): AppSpec {
  return serverApp("redis", {
    name,
    load,
    argv: (port) => [
      "redis-server",
      "--bind",
      "127.0.0.1",
      "--port",
      String(port),
      "--save",
      "",
      "--appendonly",
      "no",
    ],
  });
}

/** The scan program sweeping `sizeMiB` forever; one op = one MiB scanned (bandwidth-bound). */
export function scanApp(sizeMiB: number, name = "scan"): AppSpec {
  return {
    name,
    host: "node",
    command: {
      argv: [SCAN_PROGRAM, String(sizeMiB)],
      throughput: { kind: "log", pattern: "^scanned (\\d+)$" },
    },
    limits: { minCache: SCAN_MIN_CACHE },
  };
}

/**
 * Debian's mbw copying between two `sizeMiB` arrays; one op = one pass (a whole-array memcpy,
 * seconds apart once swapped: use long epochs). stdbuf makes its output line-buffered.
 */
export function mbwApp(sizeMiB: number, name = "mbw"): AppSpec {
  return {
    name,
    host: "node",
    command: {
      argv: ["stdbuf", "-oL", "mbw", "-q", "-t0", "-n", "1000000000", String(sizeMiB)],
      throughput: { kind: "log", pattern: "^\\d+\\tMethod: MEMCPY" },
    },
    limits: { minCache: SCAN_MIN_CACHE },
  };
}
