/**
 * `spirit bench real-apps`: the real-program playbooks (playbooks/real/) run for real on this
 * machine under `static` and under `symbiosis`, interleaved round by round (the order
 * alternates, so drift in the machine's load hits both alike), and the figures of issue 10's
 * targets printed (real_apps_figures.ts). Runs playbooks/real/setup.ts first (idempotent).
 * Wall-clock figures on a shared machine vary: they are printed with the load average, never
 * asserted.
 * @module
 */
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import { countOption, durationOption } from "./bench_options.ts";
import { loadPlaybook } from "../playbook/load.ts";
import { applyOverrides } from "../playbook/overrides.ts";
import { readEpochs } from "../results/read.ts";
import type { RunSummary } from "../results/types.ts";
import {
  type BenchRound,
  type BenchRun,
  formatPlaybookFigures,
  type PlaybookFigures,
  playbookFigures,
} from "./real_apps_figures.ts";
import { runPlaybook } from "./run.ts";

const REAL_DIR = new URL("../../playbooks/real/", import.meta.url).pathname;
/** The playbooks the bench may run (files of playbooks/real/). */
export const REAL_PLAYBOOKS = ["memcached", "redis", "scan", "mbw", "mix2", "mix3"] as const;
const DEFAULT_PLAYBOOKS = ["mix2", "mix3"];

/** Options of {@linkcode benchRealApps}. */
export interface RealAppsBenchOptions {
  playbooks: readonly string[];
  repeat: number;
  /** Overrides each playbook's duration. */
  durationMs?: number;
  output: string;
  log: (line: string) => void;
  /** Aborting ends the run under way (torn down, results kept) and the bench after it. */
  signal?: AbortSignal;
}

/** The 1-minute load average (/proc/loadavg). */
async function loadAverage(): Promise<number> {
  const text = await Deno.readTextFile("/proc/loadavg");
  return Number(text.split(" ")[0]);
}

async function runOnce(
  name: string,
  policy: "static" | "symbiosis",
  options: RealAppsBenchOptions,
): Promise<BenchRun> {
  const playbook = applyOverrides(await loadPlaybook(`${REAL_DIR}${name}.ts`), {
    policy,
    out: options.output,
    ...(options.durationMs === undefined ? {} : { duration: `${options.durationMs}ms` }),
  });
  const before = await loadAverage();
  const { runDir } = await runPlaybook(playbook, {
    output: "silent",
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const after = await loadAverage();
  if (runDir === null) throw new Error(`The ${name} run under ${policy} wrote no run directory`);
  options.log(`  ${policy}: ${runDir} (load ${before.toFixed(1)} -> ${after.toFixed(1)})`);
  return {
    runDir,
    summary: JSON.parse(await Deno.readTextFile(`${runDir}/summary.json`)) as RunSummary,
    records: (await readEpochs(runDir)).records,
    loadAverage: [before, after],
  };
}

/** Prepares the machine with playbooks/real/setup.ts (packages, the scan program, swap). */
async function setUp(log: (line: string) => void): Promise<void> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${REAL_DIR}setup.ts`, "up"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout).trim();
  for (const line of text.split("\n")) if (line !== "") log(`setup: ${line}`);
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`playbooks/real/setup.ts up failed (exit ${output.code}): ${stderr}`);
  }
}

/** Runs the rounds and returns the figures per playbook. */
export async function benchRealApps(options: RealAppsBenchOptions): Promise<PlaybookFigures[]> {
  await setUp(options.log);
  const rounds = new Map<string, BenchRound[]>(options.playbooks.map((p) => [p, []]));
  for (let i = 1; i <= options.repeat; i++) {
    for (const name of options.playbooks) {
      // Odd rounds run static first, even rounds symbiosis first.
      const order = i % 2 === 1
        ? (["static", "symbiosis"] as const)
        : (["symbiosis", "static"] as const);
      options.log(`round ${i}/${options.repeat}: ${name}, ${order.join(" then ")}`);
      const runs: Partial<Record<"static" | "symbiosis", BenchRun>> = {};
      for (const policy of order) {
        runs[policy] = await runOnce(name, policy, options);
        if (options.signal?.aborted) throw new Error("spirit bench real-apps interrupted");
      }
      rounds.get(name)?.push(runs as BenchRound);
    }
  }
  return options.playbooks.map((name) => playbookFigures(name, rounds.get(name) ?? []));
}

function playbookList(value: string): string[] {
  const names = value.split(",").map((n) => n.trim()).filter((n) => n !== "");
  const unknown = names.filter((n) => !(REAL_PLAYBOOKS as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(
      `unknown playbook${unknown.length === 1 ? "" : "s"} ${
        unknown.map((n) => `"${n}"`).join(", ") || '""'
      } (accepted: ${REAL_PLAYBOOKS.join(", ")})`,
    );
  }
  return names;
}

/** Builds `spirit bench real-apps`. */
export function realAppsBenchCommand() {
  return new Command("real-apps")
    .description(
      "Run the real-program playbooks (playbooks/real/) under static and under symbiosis, " +
        "interleaved, and print issue 10's figures: per program the throughputs and ratio, the " +
        "geometric-mean gain, the worst ratio, the least allocated share after warm-up, the " +
        "median prediction error, and whether each target is met (root; runs setup first)",
    )
    .option(
      "--playbooks <names>",
      `comma-separated playbooks of playbooks/real/ (${REAL_PLAYBOOKS.join(", ")})`,
      playbookList,
      DEFAULT_PLAYBOOKS,
    )
    .option(
      "--duration <duration>",
      "override each run's length (default: the playbook's)",
      durationOption,
    )
    .option("--repeat <n>", "rounds of static and symbiosis per playbook", countOption, 1)
    .option("--out <dir>", "where the run directories go", "results")
    .option("--json", "print the figures as one JSON document")
    .action(async (options) => {
      if (Deno.uid() !== 0) {
        console.error(
          "spirit bench real-apps needs root (cgroups, swap, apt-get): run it with sudo",
        );
        Deno.exitCode = 1;
        return;
      }
      // Ctrl-C and SIGTERM end the run under way cleanly (teardown), then the bench.
      const controller = new AbortController();
      const stop = () => controller.abort(new Error("interrupted"));
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
      let figures: PlaybookFigures[];
      try {
        figures = await benchRealApps({
          playbooks: options.playbooks,
          repeat: options.repeat,
          ...(options.duration === undefined ? {} : { durationMs: options.duration }),
          output: options.out,
          log: (line) => console.error(line),
          signal: controller.signal,
        });
      } finally {
        Deno.removeSignalListener("SIGINT", stop);
        Deno.removeSignalListener("SIGTERM", stop);
      }
      const cpus = navigator.hardwareConcurrency;
      if (options.json) {
        console.log(JSON.stringify(
          { date: new Date().toISOString(), cpus, playbooks: figures },
          null,
          2,
        ));
      } else {
        console.log(
          [
            `spirit bench real-apps on ${cpus} CPUs, ${new Date().toISOString()}`,
            ...figures.map(
              formatPlaybookFigures,
            ),
          ].join("\n\n"),
        );
      }
    });
}
