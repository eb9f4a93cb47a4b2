/**
 * `spirit run PLAYBOOK`: runs a playbook (or prints its plan with `--dry-run`). The same
 * flags work when a playbook file is run directly (`deno run -A playbooks/x.ts --policy static`),
 * through the runner this module installs for `definePlaybook`.
 * @module
 */
import { relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { Command, CommanderError } from "@commander-js/extra-typings";
import { setPlaybookRunner } from "../playbook/define.ts";
import { PlaybookError } from "../playbook/errors.ts";
import { loadPlaybook } from "../playbook/load.ts";
import { applyOverrides, type PlaybookOverrides } from "../playbook/overrides.ts";
import { DEFAULT_SSH_MAX_PARALLEL, type Playbook } from "../playbook/types.ts";
import { type OutputMode, runPlaybook } from "./run.ts";
import { checkPlaybook, formatCheck } from "./check.ts";
import { down } from "./down.ts";
import { RunRecordError } from "./run_info.ts";
import { type FoundRuns, readRun, runsNamed, runsOfPlaybook } from "./run_records.ts";
import { startLiveMetrics } from "../results/live_metrics.ts";
import { StartError } from "./start_error.ts";

const EXIT_USAGE = 2;

const SSH_CONCURRENCY_FLAG = "--ssh-concurrency <n>";
const SSH_CONCURRENCY_HELP =
  `hosts worked on at once over SSH (overrides the playbook's ssh.maxParallel; default ${DEFAULT_SSH_MAX_PARALLEL})`;

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
  sshConcurrency?: string;
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
  [SSH_CONCURRENCY_FLAG, SSH_CONCURRENCY_HELP],
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
  if (flags.sshConcurrency !== undefined) overrides.sshConcurrency = flags.sshConcurrency;
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
  } catch (error) {
    if (!(error instanceof StartError)) throw error;
    // Teardown has run: what had started is stopped, and the run directory says what happened.
    console.error(`spirit run: ${error.message} (everything it had started was stopped)`);
    return 1;
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
    const name = source.startsWith("file:")
      ? `deno run -A ${relative(Deno.cwd(), fromFileUrl(source))}`
      : source;
    const program = new Command(name)
      .description(`Run the playbook "${playbook.name}" (flags as for spirit run)`)
      .exitOverride();
    for (const [flags, description] of RUN_FLAGS) program.option(flags, description);
    try {
      program.parse(args as string[], { from: "user" });
    } catch (error) {
      // commander has printed the help or the usage error already.
      if (!(error instanceof CommanderError)) throw error;
      return error.code === "commander.helpDisplayed" || error.code === "commander.help"
        ? 0
        : EXIT_USAGE;
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
    .option(SSH_CONCURRENCY_FLAG, SSH_CONCURRENCY_HELP)
    .action(async (path, options) => {
      const loaded = await loadOrExit(path);
      let playbook: Playbook;
      try {
        playbook = applyOverrides(
          loaded,
          options.sshConcurrency === undefined ? {} : { sshConcurrency: options.sshConcurrency },
          { source: path },
        );
      } catch (error) {
        if (!(error instanceof PlaybookError)) throw error;
        console.error(error.message);
        Deno.exit(EXIT_USAGE);
      }
      const report = await checkPlaybook(playbook);
      console.log(options.json ? JSON.stringify(report) : formatCheck(report));
      Deno.exit(report.problems.length === 0 ? 0 : 1);
    });
}

/** Builds `spirit down`. */
export function downCommand() {
  return new Command("down")
    .description(
      "Tear down what runs left on their hosts (apps, cgroups, processes, run directories); " +
        "acts only on the runs named; idempotent",
    )
    .argument(
      "<target>",
      "a run directory (that run), a playbook file (the runs under its output directory whose " +
        "record names it), or a run id or playbook name (runs under --results)",
    )
    .option("--results <dir>", "where to look for the runs of a run id or name", "results")
    .option(SSH_CONCURRENCY_FLAG, SSH_CONCURRENCY_HELP)
    .action(async (target, options) => {
      const sshMaxParallel = options.sshConcurrency === undefined
        ? DEFAULT_SSH_MAX_PARALLEL
        : Number(options.sshConcurrency);
      if (!Number.isInteger(sshMaxParallel) || sshMaxParallel < 1) {
        console.error(
          `--ssh-concurrency: must be a whole number from 1 (got "${options.sshConcurrency}")`,
        );
        Deno.exit(EXIT_USAGE);
      }
      const found = await findDownTargets(target, options.results);
      for (const reason of found.refused) console.error(`warning: skipped ${reason}`);
      if (found.runs.length === 0) {
        console.log(`${found.description}: nothing to clean up`);
        Deno.exit(0);
      }
      for (const run of found.runs) console.log(`run ${run.info.runId} (${run.runDir})`);
      let failed = false;
      for (const host of await down(found.runs, { sshMaxParallel })) {
        const say = (line: string) => console.log(`${host.host}: ${line}`);
        for (const app of host.apps) say(`stopped app ${app}`);
        for (const cgroup of host.cgroups) say(`removed cgroup ${cgroup}`);
        for (const swap of host.remoteSwap) {
          say(`removed remote swap ${swap.device ?? swap.id} (${swap.removed.join(", ")})`);
        }
        for (const process of host.processes) say(`stopped process ${process}`);
        for (const dir of host.directories) say(`removed directory ${dir}`);
        for (const error of host.errors) console.error(`${host.host}: error: ${error}`);
        failed ||= host.errors.length > 0;
        const removed = host.apps.length + host.remoteSwap.length + host.processes.length +
          host.directories.length;
        if (removed === 0 && host.errors.length === 0) say("nothing to clean up");
      }
      Deno.exit(failed ? 1 : 0);
    });
}

/** The runs `spirit down TARGET` acts on; exits with status 2 when a run directory is refused. */
async function findDownTargets(
  target: string,
  resultsDir: string,
): Promise<FoundRuns & { description: string }> {
  const stat = await Deno.stat(target).catch(() => null);
  if (stat?.isDirectory) {
    try {
      return { runs: [await readRun(target)], refused: [], description: target };
    } catch (error) {
      if (!(error instanceof RunRecordError)) throw error;
      console.error(
        `error: ${target} is not a run directory spirit down can trust: ${error.message}`,
      );
      Deno.exit(EXIT_USAGE);
    }
  }
  if (stat?.isFile) {
    const playbook = await loadOrExit(target);
    const found = await runsOfPlaybook(playbook.output, playbook.name);
    return { ...found, description: `runs of playbook ${playbook.name} under ${playbook.output}/` };
  }
  const found = await runsNamed(resultsDir, target);
  return { ...found, description: `runs named ${target} under ${resultsDir}/` };
}
