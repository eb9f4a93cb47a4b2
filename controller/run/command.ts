/**
 * `spirit run PLAYBOOK`: runs a playbook (or prints its plan with `--dry-run`). The same
 * flags work when a playbook file is run directly (`deno run -A playbooks/x.ts --policy static`),
 * through the runner this module installs for `definePlaybook`.
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { setPlaybookRunner } from "../playbook/define.ts";
import { PlaybookError } from "../playbook/errors.ts";
import { loadPlaybook } from "../playbook/load.ts";
import { applyOverrides, type PlaybookOverrides } from "../playbook/overrides.ts";
import type { Playbook } from "../playbook/types.ts";
import { type OutputMode, runPlaybook } from "./run.ts";
import { checkPlaybook, formatCheck } from "./check.ts";
import { down, RUN_INFO_FILE, type RunInfo } from "./down.ts";
import { startLiveMetrics } from "../results/live_metrics.ts";

const EXIT_USAGE = 2;

/** Flags shared by `spirit run`, `spirit demo` and playbook files run directly. */
export interface RunFlags {
  dryRun?: true;
  policy?: string;
  epoch?: string;
  duration?: string;
  out?: string;
  quiet?: true;
  jsonLog?: true;
  metricsListen?: string;
}

/** The flags of `spirit run`, also accepted by a playbook file run directly. */
const RUN_FLAGS: ReadonlyArray<readonly [string, string]> = [
  ["--dry-run", "print the exact plan per host and touch nothing"],
  ["--policy <policy>", "override the playbook's policy"],
  ["--epoch <duration>", "override the epoch length"],
  ["--duration <duration>", 'override the run length ("forever" runs until stopped)'],
  ["--out <dir>", "override the output directory"],
  ["--quiet", "print only where the results are"],
  ["--json-log", "print one JSON object per line (events and epochs)"],
  [
    "--metrics-listen <host:port>",
    "serve live metrics (Prometheus text format) at http://HOST:PORT/metrics during the run",
  ],
];

/** Runs `playbook` with flags; resolves to the exit code. Ctrl-C and SIGTERM end the run cleanly. */
export async function runWithFlags(
  playbook: Playbook,
  flags: RunFlags,
  source: string,
): Promise<number> {
  const overrides: PlaybookOverrides = {};
  if (flags.policy !== undefined) overrides.policy = flags.policy;
  if (flags.epoch !== undefined) overrides.epoch = flags.epoch;
  if (flags.duration !== undefined) overrides.duration = flags.duration;
  if (flags.out !== undefined) overrides.out = flags.out;
  let resolved: Playbook;
  try {
    resolved = applyOverrides(playbook, overrides, { source });
  } catch (error) {
    if (!(error instanceof PlaybookError)) throw error;
    console.error(error.message);
    return EXIT_USAGE;
  }
  const metrics = flags.metricsListen === undefined
    ? null
    : startLiveMetrics(flags.metricsListen, resolved, { dryRun: flags.dryRun === true });
  if (typeof metrics === "number") return metrics;
  const output: OutputMode = flags.jsonLog ? "json" : flags.quiet ? "quiet" : "live";
  const controller = new AbortController();
  const stop = () => controller.abort(new Error("interrupted"));
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  try {
    const result = await runPlaybook(resolved, {
      dryRun: flags.dryRun === true,
      output,
      signal: controller.signal,
      sinks: metrics === null ? [] : [metrics.sink],
    });
    return result.interrupted ? 130 : 0;
  } finally {
    await metrics?.close();
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
  }
}

/** Builds `spirit run`. */
export function runCommand() {
  const command = new Command("run")
    .description(
      "Run a playbook: deploy, start memory servers and agents, launch apps, allocate every epoch, record results",
    )
    .argument("<playbook>", "a playbook file (TypeScript, default export or definePlaybook)");
  for (const [flags, description] of RUN_FLAGS) command.option(flags, description);
  return command.action(async (path, flags) => {
    let playbook: Playbook;
    try {
      playbook = await loadPlaybook(path);
    } catch (error) {
      if (!(error instanceof PlaybookError)) throw error;
      console.error(error.message);
      Deno.exit(EXIT_USAGE);
    }
    Deno.exit(await runWithFlags(playbook, flags as RunFlags, path));
  });
}

/** Installs the runner used when a playbook file is the main module. */
export function installPlaybookRunner(): void {
  setPlaybookRunner(async (playbook, { args, source }) => {
    const program = new Command(source).exitOverride();
    for (const [flags, description] of RUN_FLAGS) program.option(flags, description);
    try {
      program.parse(args as string[], { from: "user" });
    } catch {
      return EXIT_USAGE;
    }
    return await runWithFlags(playbook, program.opts() as RunFlags, source);
  });
}

async function loadOrExit(path: string): Promise<Playbook> {
  try {
    return await loadPlaybook(path);
  } catch (error) {
    if (!(error instanceof PlaybookError)) throw error;
    console.error(error.message);
    Deno.exit(EXIT_USAGE);
  }
}

/** Builds `spirit check`. */
export function checkCommand() {
  return new Command("check")
    .description("Reach every host of a playbook, gather facts and report every problem at once")
    .argument("<playbook>", "a playbook file")
    .option("--json", "print the facts and problems as one JSON document")
    .action(async (path, options) => {
      const playbook = await loadOrExit(path);
      const report = await checkPlaybook(playbook);
      console.log(options.json ? JSON.stringify(report) : formatCheck(report));
      Deno.exit(report.problems.length === 0 ? 0 : 1);
    });
}

/** Builds `spirit down`. */
export function downCommand() {
  return new Command("down")
    .description(
      "Tear down what runs of a playbook (or one run directory) left on their hosts; idempotent",
    )
    .argument(
      "<playbook-or-run-dir>",
      "a playbook file (all its runs) or a run directory (that run)",
    )
    .action(async (target) => {
      let playbook: Playbook;
      let hostDir: string | undefined;
      const isDir = await Deno.stat(target).then((s) => s.isDirectory, () => false);
      if (isDir) {
        try {
          const info = JSON.parse(await Deno.readTextFile(`${target}/${RUN_INFO_FILE}`)) as RunInfo;
          // playbook.json is the resolved playbook the run wrote itself.
          playbook = JSON.parse(await Deno.readTextFile(`${target}/playbook.json`)) as Playbook;
          if (typeof playbook.hosts !== "object" || playbook.hosts === null) {
            throw new Error("playbook.json has no hosts");
          }
          hostDir = info.hostDir;
        } catch (error) {
          console.error(`error: ${target} is not a run directory: ${(error as Error).message}`);
          Deno.exit(EXIT_USAGE);
        }
      } else {
        playbook = await loadOrExit(target);
      }
      const results = await down(playbook, hostDir === undefined ? {} : { hostDir });
      let failed = false;
      for (const r of results) {
        if (r.error !== undefined) {
          failed = true;
          console.error(`${r.host}: ${r.error}`);
        }
        for (const line of r.done) console.log(`${r.host}: ${line}`);
        if (r.error === undefined && r.done.length === 0) {
          console.log(`${r.host}: nothing to clean up`);
        }
      }
      Deno.exit(failed ? 1 : 0);
    });
}
