/**
 * The paper's cluster: 24 apps on four compute nodes (six_apps.ts's mix on each: three scans,
 * a skewed and a mild key-value store, a phased app) sharing one memory node.
 *
 * Scaled from the paper (scale.ts: epochs ÷ 6, rates ÷ 160, sizes ÷ 960): four VMs of 10 GiB
 * cache and 7.5 Gbps become four nodes of 10.667 MiB and 46.875 Mbps; datasets as in six_apps.ts
 * (13 × each node's cache), 0.54 GiB of remote memory in all on the memory node (1 GiB offered).
 * Epochs are 5 s (the paper's 30 s).
 *
 * Hosts: by default every node is this machine (no SSH; four agents and one memory server on
 * loopback). With `SPIRIT_PAPER_HOSTS=FILE`, the hosts come from FILE, a JSON object with the keys
 * `mem`, `cn1`, `cn2`, `cn3`, `cn4`, each an `ssh` entry as in a playbook (docs/playbooks.md):
 *
 *   { "mem": { "host": "10.0.0.10", "user": "spirit", "identityFile": "~/.ssh/spirit" },
 *     "cn1": { "host": "10.0.0.11", ... }, ... }
 *
 * The memory server listens on mem's ssh host address. The netns test fixture
 * (controller/devhosts/netns_hosts.ts) provides such hosts on one machine: see
 * test/paper_cluster_test.ts, which writes that file for five namespaces.
 *
 *   deno task spirit compare playbooks/paper/cluster_24.ts --simulate
 *   SPIRIT_PAPER_HOSTS=hosts.json deno task spirit compare playbooks/paper/cluster_24.ts --duration 3m
 * @module
 */
import { definePlaybook, type PlaybookSpec } from "../../mod.ts";
import { PAPER_RUN, paperComputeNode } from "./scale.ts";
import { sixApps } from "./six_apps.ts";

/** The environment variable naming the hosts file. */
export const HOSTS_ENV = "SPIRIT_PAPER_HOSTS";

/** The hosts of the cluster, by name. */
export const CLUSTER_HOSTS = ["mem", "cn1", "cn2", "cn3", "cn4"] as const;

/** How each host is reached over SSH (a playbook's `ssh` entry), or null for this machine. */
export type ClusterSsh = Record<typeof CLUSTER_HOSTS[number], Record<string, unknown>> | null;

/**
 * Reads a hosts file: a JSON object with an object per host of CLUSTER_HOSTS (checked further
 * by the playbook's validation, which names the field).
 * @throws {Error} naming the file and what is wrong.
 */
export function readClusterHosts(path: string): NonNullable<ClusterSsh> {
  let value: unknown;
  try {
    value = JSON.parse(Deno.readTextFileSync(path));
  } catch (cause) {
    throw new Error(`${HOSTS_ENV}=${path}: cannot read the hosts file: ${String(cause)}`, {
      cause,
    });
  }
  const record = typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : null;
  const missing = CLUSTER_HOSTS.filter((name) => {
    const entry = record?.[name];
    return typeof entry !== "object" || entry === null || Array.isArray(entry);
  });
  if (record === null || missing.length > 0) {
    throw new Error(
      `${HOSTS_ENV}=${path}: expected a JSON object with an ssh entry (an object) for each of ` +
        `${CLUSTER_HOSTS.join(", ")}; missing or not an object: ${missing.join(", ")}`,
    );
  }
  return Object.fromEntries(CLUSTER_HOSTS.map((name) => [name, record[name]])) as NonNullable<
    ClusterSsh
  >;
}

/** The 24-app playbook on `ssh` hosts (null: all on this machine). */
export function clusterSpec(ssh: ClusterSsh, output = "results"): PlaybookSpec {
  const over = (name: typeof CLUSTER_HOSTS[number]) =>
    ssh === null ? {} : { ssh: ssh[name] as NonNullable<PlaybookSpec["hosts"][string]["ssh"]> };
  const computes = CLUSTER_HOSTS.filter((name) => name !== "mem");
  return {
    name: "cluster_24",
    description: "24 apps on four compute nodes sharing one memory node (the paper's cluster, " +
      "scaled: scale.ts)",
    hosts: {
      mem: {
        role: "memory",
        ...over("mem"),
        memserver: { capacity: "1GiB", transport: "tcp", port: 0 },
      },
      ...Object.fromEntries(computes.map((name) => [name, {
        ...paperComputeNode("mem"),
        ...over(name),
      }])),
    },
    apps: computes.flatMap((name, i) => sixApps(name, `-${i + 1}`)),
    ...PAPER_RUN,
    duration: "4m",
    output,
  };
}

const hostsFile = Deno.env.get(HOSTS_ENV);

export default definePlaybook(
  clusterSpec(hostsFile === undefined || hostsFile === "" ? null : readClusterHosts(hostsFile)),
);
