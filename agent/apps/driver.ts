/**
 * A driver: a client program the agent runs beside a cgroup app (a load generator in front of
 * an unmodified server). It runs outside the app's cgroup, so its own memory and CPU are not
 * charged to the app's allocation, in an unlimited cgroup of its own (`spirit/<appId>+driver`:
 * `+` never occurs in app ids), so that stopping it leaves no process behind.
 * @module
 */
import { type Cgroup, createCgroup } from "../cgroup/cgroup.ts";
import type { CgroupLayout } from "../cgroup/mounts.ts";
import type { AppExit, DriverSpec } from "../protocol.ts";
import { type OutputSink, pumpOutput } from "./output.ts";
import { exitOf, spawnApp } from "./spawn.ts";
import { terminateCgroup } from "./terminate.ts";

/** What starting a driver needs from the agent. */
export interface DriverContext {
  layout: CgroupLayout;
  /** The app it drives (names the driver's cgroup). */
  appId: string;
  /** argv prefix that runs this node's spirit CLI (for `kind: "spirit"`). */
  spiritCommand: readonly string[];
  /** Receives the driver's output bytes (its log file). */
  sink: OutputSink;
  /** Called once the driver's output is fully drained. */
  onOutputClosed?: () => void;
  /** Receives each line of the driver's output (a `log` throughput source from the driver). */
  onLine: (stream: "stdout" | "stderr", line: string) => void;
}

/** The cgroup name of an app's driver. */
export function driverCgroupName(appId: string): string {
  return `${appId}+driver`;
}

/** The argv a driver spec runs (pure). */
export function driverArgv(spec: DriverSpec, spiritCommand: readonly string[]): string[] {
  return spec.kind === "argv" ? [...spec.argv] : [...spiritCommand, ...spec.args];
}

/** A running driver. */
export class Driver {
  readonly pid: number;
  /** Resolves when the driver's main process has ended. */
  readonly exited: Promise<AppExit>;
  readonly #cgroup: Cgroup;
  readonly #outputDone: Promise<void>;
  #exit: AppExit | null = null;
  #stopped: Promise<void> | null = null;

  private constructor(cgroup: Cgroup, child: Deno.ChildProcess, context: DriverContext) {
    this.#cgroup = cgroup;
    this.pid = child.pid;
    this.#outputDone = Promise.all([
      pumpOutput(child.stdout, { name: "stdout", sink: context.sink, onLine: context.onLine }),
      pumpOutput(child.stderr, { name: "stderr", sink: context.sink, onLine: context.onLine }),
    ]).then(() => context.onOutputClosed?.());
    this.exited = child.status.then((status) => {
      this.#exit = exitOf(status);
      return this.#exit;
    });
  }

  /** Starts the driver in its own cgroup; on failure nothing is left. */
  static async start(spec: DriverSpec, context: DriverContext): Promise<Driver> {
    const cgroup = await createCgroup(context.layout, driverCgroupName(context.appId));
    try {
      const child = spawnApp(driverArgv(spec, context.spiritCommand), {
        procsFiles: cgroup.procsFiles(),
        ...(spec.env === undefined ? {} : { env: spec.env }),
        ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
      });
      return new Driver(cgroup, child, context);
    } catch (error) {
      await cgroup.remove();
      throw error;
    }
  }

  /** Its pid and, once it ended, how. */
  status(): { pid: number; exit: AppExit | null } {
    return { pid: this.pid, exit: this.#exit };
  }

  /** True once `stop` was called. */
  get stopping(): boolean {
    return this.#stopped !== null;
  }

  /** Stops it (SIGTERM, SIGKILL after `graceMs`) and removes its cgroup. Idempotent. */
  stop(graceMs = 2000): Promise<void> {
    this.#stopped ??= (async () => {
      await terminateCgroup(this.#cgroup, {
        exited: this.exited,
        running: this.#exit === null,
        graceMs,
      });
      await this.#outputDone;
    })();
    return this.#stopped;
  }
}
