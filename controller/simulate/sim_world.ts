/**
 * The simulated world a run talks to: hosts with a little file system, memory servers and
 * agent daemons with simulated apps, all in virtual time, and the faults injected into them.
 * `edges()` gives the run its connector per host, the runtime and the clock.
 * @module
 */
import type { AppExit, HostFacts, LaunchSpec } from "../../agent/protocol.ts";
import { seededRandom } from "../../workloads/random.ts";
import { parseDurationMs } from "../../common/units.ts";
import type { ModelSpec } from "../auction/model.ts";
import type { ResourceBytes } from "../auction/units.ts";
import type { Playbook } from "../playbook/types.ts";
import type { RunEdges } from "../run/edges.ts";
import type { SpiritRuntime } from "../run/runtime.ts";
import { appSpecs, type SimAppSpec } from "./app_models.ts";
import { activeWindow, isWindow, type SimFault, startOf } from "./faults.ts";
import { agentSession, type DaemonWorld, SimDaemon } from "./sim_agent.ts";
import { SimConnector } from "./sim_connector.ts";
import { SimProcess } from "./sim_process.ts";
import { VirtualClock } from "./virtual_clock.ts";

/** Options of a simulated world. */
export interface SimWorldOptions {
  /** Behaviour per app name (a model or a full spec); the others follow their workload kind. */
  models?: Readonly<Record<string, SimAppSpec | ModelSpec>>;
  faults?: readonly SimFault[];
  /** Seed of every app's noise (default: the playbook's seed). */
  seed?: number;
  /** Relative throughput noise of every app (default: each spec's own, 0.03). */
  noise?: number;
  clock?: VirtualClock;
}

/** An allocation an agent applied (a launch or a set-allocation). */
export interface AppliedAllocation {
  timeMs: number;
  host: string;
  app: string;
  allocation: ResourceBytes;
  /** Whether the app was launched with it or it was set on the running app. */
  via: "launch" | "set-allocation";
}

/** How spirit is started on a simulated host (the argv only names the subcommand). */
export const SIM_RUNTIME: SpiritRuntime = { command: (args) => ["spirit", ...args] };

/** First port a memory server asking for port 0 gets. */
const FIRST_PORT = 40000;

/** One simulated host. */
export class SimHost {
  readonly name: string;
  /** Directories and files that exist (absolute paths). */
  readonly paths = new Set<string>();
  readonly daemons = new Map<string, SimDaemon>();
  readonly sessions = new Set<SimProcess>();
  readonly memservers = new Set<SimProcess & { port: number }>();

  constructor(name: string) {
    this.name = name;
  }

  /** Processes still running on the host. */
  running(): SimProcess[] {
    return [...this.sessions, ...this.memservers].filter((p) => !p.exited);
  }

  /** Live agent daemons. */
  liveDaemons(): SimDaemon[] {
    return [...this.daemons.values()].filter((d) => d.alive);
  }
}

/** The whole simulated cluster of one playbook. */
export class SimWorld {
  readonly clock: VirtualClock;
  readonly playbook: Playbook;
  readonly faults: readonly SimFault[];
  /** Every allocation an agent applied, in time order. */
  readonly applied: AppliedAllocation[] = [];
  readonly #specs: Map<string, SimAppSpec>;
  readonly #hosts = new Map<string, SimHost>();
  readonly #seed: number;
  #lastMs = 0;
  #nextPid = 1000;
  #nextPort = FIRST_PORT;

  constructor(playbook: Playbook, options: SimWorldOptions = {}) {
    this.playbook = playbook;
    this.clock = options.clock ?? new VirtualClock();
    this.faults = [...(options.faults ?? [])];
    this.#seed = options.seed ?? playbook.seed;
    const specs = appSpecs(playbook, options.models);
    if (options.noise !== undefined) {
      for (const [name, spec] of specs) specs.set(name, { ...spec, noise: options.noise });
    }
    this.#specs = specs;
    for (const name of Object.keys(playbook.hosts)) this.#hosts.set(name, new SimHost(name));
    this.#checkFaults();
    this.clock.onAdvance((nowMs) => this.#advanceTo(nowMs));
  }

  #checkFaults(): void {
    for (const [i, fault] of this.faults.entries()) {
      const subject = "app" in fault ? fault.app : fault.host;
      const known = "app" in fault
        ? this.playbook.apps.some((a) => a.name === subject)
        : this.#hosts.has(subject);
      if (!known) {
        throw new RangeError(
          `faults[${i}] (${fault.kind}): no ${"app" in fault ? "app" : "host"} "${subject}" ` +
            `in playbook ${this.playbook.name}`,
        );
      }
    }
  }

  /** The run's edges into this world. */
  edges(): Pick<RunEdges, "connect" | "runtime" | "clock"> {
    return {
      connect: (host) => new SimConnector(this, this.host(host.name)),
      runtime: () => Promise.resolve(SIM_RUNTIME),
      clock: this.clock,
    };
  }

  /** A host of the world. */
  host(name: string): SimHost {
    const host = this.#hosts.get(name);
    if (host === undefined) throw new RangeError(`No host "${name}" in the simulation`);
    return host;
  }

  /** Every host. */
  hosts(): SimHost[] {
    return [...this.#hosts.values()];
  }

  /** The behaviour simulated for an app. */
  specOf(app: string): SimAppSpec {
    const spec = this.#specs.get(app);
    if (spec === undefined) throw new RangeError(`No simulated app "${app}"`);
    return spec;
  }

  /** Why `host` cannot be reached now, or null. */
  unreachable(host: string): string | null {
    const fault = activeWindow(this.faults, "host-unreachable", host, this.clock.now());
    return fault === undefined ? null : `ssh: connect to host ${host}: Connection timed out`;
  }

  /** Starts `spirit memserver ...` on `host`. */
  startMemserver(host: SimHost, argv: readonly string[]): SimProcess {
    const listen = argv[argv.indexOf("--listen") + 1] ?? "";
    const requested = Number(listen.slice(listen.lastIndexOf(":") + 1));
    const taken = this.hosts().some((h) =>
      [...h.memservers].some((m) => !m.exited && m.port === requested)
    );
    const port = requested > 0 ? requested : this.#nextPort++;
    const process = Object.assign(new SimProcess(argv), { port });
    host.memservers.add(process);
    if (taken) {
      process.writeError(`error: cannot listen on ${listen}: address already in use\n`);
      process.exit(1);
    } else {
      process.writeLine(JSON.stringify({ event: "ready", port, transport: "tcp" }));
    }
    return process;
  }

  /** Starts `spirit agent --state-dir DIR ...` on `host`: a session of that directory's daemon. */
  startAgentSession(host: SimHost, argv: readonly string[]): SimProcess {
    const stateDir = argv[argv.indexOf("--state-dir") + 1] ?? "";
    const interval = argv.indexOf("--sample-interval");
    const sampleIntervalMs = interval < 0 ? 1000 : parseDurationMs(argv[interval + 1] ?? "1s");
    let daemon = host.daemons.get(stateDir);
    if (daemon === undefined || !daemon.alive) {
      daemon = new SimDaemon(this.#daemonWorld(host), {
        pid: this.#nextPid++,
        nowMs: this.clock.now(),
        sampleIntervalMs,
      });
      host.daemons.set(stateDir, daemon);
      host.paths.add(stateDir);
    }
    const owner = daemon;
    const session = agentSession(owner, {
      argv,
      now: () => this.clock.now(),
      onShutdown: () => {
        owner.kill(this.clock.now());
        for (const s of host.sessions) if (!s.exited) s.exit(0);
      },
    });
    host.sessions.add(session);
    return session;
  }

  #daemonWorld(host: SimHost): DaemonWorld {
    return {
      specOf: (appId) => this.specOf(appId),
      seedOf: (appId, launches) => {
        const index = this.playbook.apps.findIndex((a) => a.name === appId);
        return Math.floor(seededRandom(this.#seed * 7919 + index * 104729 + launches)() * 2 ** 31);
      },
      launchFailure: (spec, nowMs) => this.#launchFailure(host, spec, nowMs),
      enforcementFailure: (appId, nowMs) =>
        activeWindow(this.faults, "enforcement-fails", appId, nowMs) === undefined
          ? null
          : "simulated enforcement failure (injected fault)",
      samplesFailure: (nowMs) =>
        activeWindow(this.faults, "samples-fail", host.name, nowMs) === undefined
          ? null
          : "simulated sampling failure (injected fault)",
      applied: (app, allocation, { nowMs, via }) =>
        this.applied.push({
          timeMs: nowMs,
          host: host.name,
          app,
          allocation: { ...allocation },
          via,
        }),
      facts: () => simulatedFacts(host.name),
    };
  }

  #launchFailure(host: SimHost, spec: LaunchSpec, nowMs: number): string | null {
    if (activeWindow(this.faults, "launch-fails", spec.appId, nowMs) !== undefined) {
      return "simulated launch failure (injected fault)";
    }
    if (spec.enforcement !== "farmem" || spec.program.kind !== "workload") return null;
    const args = spec.program.args;
    const tokenFile = args[args.indexOf("--token-file") + 1] ?? "";
    if (!host.paths.has(tokenFile)) return `cannot read token file ${tokenFile}`;
    const address = args[args.indexOf("--memserver") + 1] ?? "";
    const port = Number(address.slice(address.lastIndexOf(":") + 1));
    const up = this.hosts().some((h) =>
      [...h.memservers].some((m) => !m.exited && m.port === port)
    );
    return up ? null : `cannot connect to the memory server at ${address}: connection refused`;
  }

  /**
   * Runs the world up to `nowMs`, applying the faults due on the way in time order. When some
   * applied, resolves only after pending work has run (a macrotask later), so what they set off
   * (sessions ending, exits reported) has reached the run, as it would have in real time.
   */
  #advanceTo(nowMs: number): Promise<void> | undefined {
    const due = this.faults
      .filter((f) => startOf(f) > this.#lastMs && startOf(f) <= nowMs)
      .sort((a, b) => startOf(a) - startOf(b));
    for (const fault of due) {
      this.#daemonsTo(startOf(fault));
      this.#apply(fault);
    }
    this.#daemonsTo(nowMs);
    this.#lastMs = nowMs;
    return due.length === 0 ? undefined : new Promise((resolve) => setTimeout(resolve, 0));
  }

  #daemonsTo(nowMs: number): void {
    for (const host of this.#hosts.values()) {
      for (const daemon of host.liveDaemons()) daemon.advanceTo(nowMs);
    }
  }

  #endApp(app: string, exit: AppExit): void {
    for (const host of this.#hosts.values()) {
      for (const daemon of host.liveDaemons()) daemon.endApp(app, exit);
    }
  }

  #apply(fault: SimFault): void {
    const atMs = startOf(fault);
    switch (fault.kind) {
      case "app-crash":
        return this.#endApp(fault.app, { code: 1, signal: null, atMs });
      case "app-exit":
        return this.#endApp(fault.app, { code: 0, signal: null, atMs });
      case "agent-session-lost":
      case "host-unreachable":
        for (const session of this.host(fault.host).sessions) session.exit(255);
        return;
      case "agent-daemon-killed": {
        const host = this.host(fault.host);
        for (const daemon of host.liveDaemons()) daemon.kill(atMs);
        for (const session of host.sessions) session.exit(1);
        return;
      }
      case "memserver-killed": {
        const ports = new Set<number>();
        for (const server of this.host(fault.host).memservers) {
          if (server.exited) continue;
          ports.add(server.port);
          server.exit(137);
        }
        for (const host of this.#hosts.values()) {
          for (const daemon of host.liveDaemons()) {
            for (const app of daemon.apps()) {
              const port = Number(app.memserver?.slice(app.memserver.lastIndexOf(":") + 1));
              if (ports.has(port)) {
                daemon.endApp(app.appId, { code: 1, signal: null, atMs });
              }
            }
          }
        }
        return;
      }
      default:
        // The other windows act where they are consulted (launch, set-allocation, samples).
        if (!isWindow(fault)) throw new RangeError(`Unknown fault ${JSON.stringify(fault)}`);
    }
  }
}

/** Facts of a simulated host. */
function simulatedFacts(hostname: string): HostFacts {
  const enforced = { enforced: true as const, via: "simulated" };
  return {
    protocolVersion: 1,
    agentVersion: "simulated",
    hostname,
    kernel: { release: "simulated", version: "simulated" },
    arch: Deno.build.arch,
    cpus: 2,
    memoryBytes: 24 * 2 ** 30,
    pageSizeBytes: 4096,
    cgroup: {
      layout: 2,
      memory: { version: 2, mount: "/sys/fs/cgroup" },
      io: { version: 2, mount: "/sys/fs/cgroup" },
      v1Controllers: [],
      v2Controllers: ["memory", "io"],
      memswAccounting: false,
    },
    psi: true,
    swapDevices: [],
    rdmaDevices: [],
    hardwarePerfCounters: false,
    softwarePerfEvents: false,
    cgroupEnforcement: { cache: enforced, bandwidthRead: enforced, bandwidthWrite: enforced },
    remoteSwapSupport: {
      devFuse: true,
      loopControl: "usable",
      fusermount3: null,
      zswapEnabled: false,
    },
  };
}
