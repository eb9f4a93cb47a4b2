/**
 * Shipping spirit to a remote host: this Deno binary (the runtime) and a `deno bundle` of the
 * host command line (host/cli.ts: agent, memserver, workload, exec; no controller code), cached
 * separately by content hash, so a new bundle never re-copies the runtime:
 * `<cache>/runtime/<sha256>/deno` and `<cache>/bundle/<sha256>/spirit.js` (deploy_cache.ts
 * says where `<cache>` is and how it is checked). Every deploy verifies the sha256 of both files
 * on the host, whether just copied or reused from the cache; a corrupted or replaced cached file
 * is deleted and copied again. Old entries are pruned: the {@linkcode KEEP_RUNTIMES} and
 * {@linkcode KEEP_BUNDLES} most recently used are kept.
 * (`deno compile` would give one file, but needs a `denort` download; the bundle does not.)
 * @module
 */
import type { Connector } from "../connectors/types.ts";
import type { Playbook } from "../playbook/types.ts";
import {
  type Artifact,
  type Artifacts,
  DEPLOY_CACHE_SCRIPT,
  KEEP_BUNDLES,
  KEEP_RUNTIMES,
} from "./deploy_cache.ts";
import { cachedBundle, controllerCacheDir, stampedRuntime } from "./local_artifacts.ts";
import { deployedRuntime, LOCAL_HOST_CLI, type SpiritRuntime } from "./runtime.ts";

/** What one deploy did on a host. */
export interface DeployOutcome {
  runtime: SpiritRuntime;
  /** The host's cache directory. */
  cacheDir: string;
  /** Where the runtime and the bundle are on the host. */
  paths: { deno: string; bundle: string };
  /** Files copied this time (missing, or replaced because their content was wrong). */
  copied: Array<"runtime" | "bundle">;
  /** Cached files whose content did not match their hash (deleted and copied again). */
  replaced: Array<"runtime" | "bundle">;
  /** Cache entries removed by pruning. */
  pruned: string[];
  /** The output and exit of `then` when the cache was current (it ran), else null. */
  then: { stdout: string; stderr: string; code: number } | null;
}

/** A deploy was refused or failed on a host; the message names the host and the problem. */
export class DeployError extends Error {
  readonly host: string;
  constructor(host: string, message: string, options?: ErrorOptions) {
    super(`Deploy to ${host}: ${message}`, options);
    this.name = "DeployError";
    this.host = host;
  }
}

export { type Artifact, type Artifacts, KEEP_BUNDLES, KEEP_RUNTIMES };

let artifacts: Promise<Artifacts> | undefined;

/** The checkout this controller runs from (the bundle's sources). */
const CHECKOUT_ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** Runs `deno bundle` of `entry` (a module of this checkout) into `output`. */
async function bundleEntry(entry: string, output: string): Promise<void> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "deno", "-o", output, entry],
    cwd: CHECKOUT_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(
      `deno bundle of ${entry} failed: ${new TextDecoder().decode(result.stderr).slice(-2000)}`,
    );
  }
}

/**
 * The Deno binary and the bundle of the host CLI with their hashes (once per controller
 * process; both cached on this machine across processes, see local_artifacts.ts).
 */
export function prepareArtifacts(): Promise<Artifacts> {
  artifacts ??= (async () => {
    const cacheDir = await controllerCacheDir();
    const [runtime, bundle] = await Promise.all([
      stampedRuntime(Deno.execPath(), { cacheDir }),
      cachedBundle(LOCAL_HOST_CLI, {
        root: CHECKOUT_ROOT,
        cacheDir,
        bundle: (output) => bundleEntry(LOCAL_HOST_CLI, output),
      }),
    ]);
    return { runtime, bundle };
  })();
  return artifacts;
}

/** What deploy would ship to the playbook's SSH hosts (bundled now), or null when it has none. */
export async function shippedFor(playbook: Playbook): Promise<Artifacts | null> {
  const remote = Object.values(playbook.hosts).some((host) => host.ssh !== null);
  return remote ? await prepareArtifacts() : null;
}

/** The `uname -m` names of the machines this controller's Deno runs on. */
export function machineNames(): string[] {
  return Deno.build.arch === "aarch64" ? ["aarch64", "arm64"] : [Deno.build.arch];
}

/** Parsed output of the cache script. */
interface CacheState {
  root: string;
  runtime: string;
  bundle: string;
  pruned: string[];
  /** What the command given to the probe printed after `then`, and its exit, if it ran. */
  then: { stdout: string; stderr: string; code: number } | null;
}

/** A command to run on the host as soon as the probe finds the cache current. */
export interface ThenCommand {
  /** The argv; `$SPIRIT_RUNTIME` and `$SPIRIT_BUNDLE` in its environment are the files' paths. */
  argv: readonly string[];
  stdin?: string;
  /** Longest time for the whole round trip, the command included. */
  timeoutMs?: number;
}

async function runCacheScript(
  connector: Connector,
  shipped: Artifacts,
  options: {
    mode: "probe" | "finish";
    hash: { runtime: boolean; bundle: boolean };
    machines: readonly string[];
    then?: ThenCommand;
  },
): Promise<CacheState> {
  const then = options.then;
  const result = await connector.exec([
    "sh",
    "-c",
    DEPLOY_CACHE_SCRIPT,
    "spirit-deploy",
    options.mode,
    shipped.runtime.sha256,
    shipped.bundle.sha256,
    options.hash.runtime ? "1" : "0",
    options.hash.bundle ? "1" : "0",
    String(KEEP_RUNTIMES),
    String(KEEP_BUNDLES),
    options.machines.join(" "),
    ...(then === undefined ? [] : ["then", ...then.argv]),
  ], {
    check: then === undefined,
    ...(then?.stdin === undefined ? {} : { stdin: then.stdin }),
    ...(then?.timeoutMs === undefined ? {} : { timeoutMs: then.timeoutMs }),
  });
  const state: CacheState = { root: "", runtime: "", bundle: "", pruned: [], then: null };
  const mark = then === undefined ? -1 : result.stdout.indexOf("\nthen\n");
  const own = mark < 0 ? result.stdout : result.stdout.slice(0, mark);
  if (mark >= 0) {
    const stdout = result.stdout.slice(mark + "\nthen\n".length);
    state.then = { stdout, stderr: result.stderr, code: result.code };
  } else if (result.code !== 0) {
    throw new DeployError(
      connector.host,
      `the cache script failed (exit ${result.code}): ${result.stderr.slice(-500)}`,
    );
  }
  for (const line of own.split("\n")) {
    const tab = line.indexOf("\t");
    if (tab < 0) continue;
    const key = line.slice(0, tab);
    const value = line.slice(tab + 1);
    if (key === "refuse") throw new DeployError(connector.host, `refused: ${value}`);
    if (key === "arch") {
      throw new DeployError(
        connector.host,
        `missing runtime: the host is ${value}, this controller ships a Deno for ${
          options.machines.join(" or ")
        }`,
      );
    }
    if (key === "root") state.root = value;
    else if (key === "runtime") state.runtime = value;
    else if (key === "bundle") state.bundle = value;
    else if (key === "pruned") state.pruned.push(value);
  }
  if (state.root === "") {
    throw new DeployError(
      connector.host,
      `the cache script printed no cache directory: ${result.stdout.slice(0, 200)}${
        result.stderr.slice(-500)
      }`,
    );
  }
  return state;
}

/**
 * Makes sure the host has this controller's runtime and bundle, verified by content hash;
 * copies what is missing or wrong and prunes old cache entries. `artifacts` defaults to
 * {@linkcode prepareArtifacts} (tests pass small files).
 * @throws {DeployError} when the cache location is unsafe or a copy does not verify.
 */
export async function deploy(
  connector: Connector,
  options: {
    artifacts?: Artifacts;
    /** The `uname -m` names the runtime runs on (default {@linkcode machineNames}). */
    machines?: readonly string[];
    then?: ThenCommand;
  } = {},
): Promise<DeployOutcome> {
  const shipped = options.artifacts ?? await prepareArtifacts();
  const machines = options.machines ?? machineNames();
  const probe = await runCacheScript(connector, shipped, {
    mode: "probe",
    hash: { runtime: true, bundle: true },
    machines,
    ...(options.then === undefined ? {} : { then: options.then }),
  });
  const paths = {
    runtime: `${probe.root}/runtime/${shipped.runtime.sha256}/deno`,
    bundle: `${probe.root}/bundle/${shipped.bundle.sha256}/spirit.js`,
  };
  const copied = (["runtime", "bundle"] as const).filter((kind) => probe[kind] !== "ok");
  const replaced = copied.filter((kind) => probe[kind].startsWith("bad"));
  let pruned = probe.pruned;
  if (copied.length > 0) {
    for (const kind of copied) {
      await connector.put(shipped[kind].path, paths[kind], {
        mode: kind === "runtime" ? 0o700 : 0o600,
      });
    }
    const finish = await runCacheScript(connector, shipped, {
      mode: "finish",
      hash: { runtime: copied.includes("runtime"), bundle: copied.includes("bundle") },
      machines,
    });
    for (const kind of copied) {
      if (finish[kind] !== "ok") {
        throw new DeployError(
          connector.host,
          `the copied ${kind} ${paths[kind]} does not verify (expected sha256 ${
            shipped[kind].sha256
          }, found ${finish[kind]}); it was deleted`,
        );
      }
    }
    pruned = finish.pruned;
  }
  return {
    runtime: deployedRuntime({ deno: paths.runtime, bundle: paths.bundle }),
    cacheDir: probe.root,
    paths: { deno: paths.runtime, bundle: paths.bundle },
    copied,
    replaced,
    pruned,
    then: probe.then,
  };
}

/** Deploys (see {@linkcode deploy}) and returns how to start spirit on the host. */
export async function deployRuntime(connector: Connector): Promise<SpiritRuntime> {
  return (await deploy(connector)).runtime;
}
