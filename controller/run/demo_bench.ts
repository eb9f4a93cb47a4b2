/**
 * `spirit bench demo`: the embedded playbook (playbooks/local.ts) run for real on this machine
 * under `static` and under `symbiosis`, interleaved when repeated, and the figures the README
 * quotes: per app the mean throughput under each, its ratio and allocation, and the
 * geometric-mean gain. Wall-clock figures on a shared machine vary; they are printed, never
 * asserted (the simulator asserts the comparison deterministically).
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { countOption, durationOption } from "./bench_options.ts";
import { formatTable } from "../../common/table.ts";
import { loadPlaybook } from "../playbook/load.ts";
import { applyOverrides } from "../playbook/overrides.ts";
import type { RunSummary } from "../results/types.ts";
import { type PolicyGain, policyGain } from "./policy_gain.ts";
import { runPlaybook } from "./run.ts";

const LOCAL_PLAYBOOK = new URL("../../playbooks/local.ts", import.meta.url).pathname;

/** The bar for the demo: geometric-mean gain and the worst app's ratio. */
export const DEMO_BAR = { geometricMeanRatio: 1.05, minRatio: 0.95 };

/** One repetition's comparison. */
export interface DemoRound {
  staticRunDir: string;
  symbiosisRunDir: string;
  gain: PolicyGain;
}

async function summaryOf(
  policy: string,
  options: { durationMs: number; epochMs: number; output: string },
): Promise<{ runDir: string; summary: RunSummary }> {
  const playbook = applyOverrides(await loadPlaybook(LOCAL_PLAYBOOK), {
    policy,
    duration: `${options.durationMs}ms`,
    epoch: `${options.epochMs}ms`,
    out: options.output,
  });
  const { runDir } = await runPlaybook(playbook, { output: "silent" });
  if (runDir === null) throw new Error("The demo run wrote no run directory");
  return {
    runDir,
    summary: JSON.parse(await Deno.readTextFile(`${runDir}/summary.json`)) as RunSummary,
  };
}

/** Runs the comparison `repeat` times (static, then symbiosis, each time). */
export async function benchDemo(
  options: {
    durationMs: number;
    epochMs: number;
    repeat: number;
    output: string;
    log: (line: string) => void;
  },
): Promise<DemoRound[]> {
  const rounds: DemoRound[] = [];
  for (let i = 1; i <= options.repeat; i++) {
    options.log(
      `round ${i}/${options.repeat}: static, then symbiosis (${options.durationMs} ms each)`,
    );
    const baseline = await summaryOf("static", options);
    const market = await summaryOf("symbiosis", options);
    rounds.push({
      staticRunDir: baseline.runDir,
      symbiosisRunDir: market.runDir,
      gain: policyGain(baseline.summary, market.summary),
    });
  }
  return rounds;
}

/** The figures as text. */
export function formatDemoBench(rounds: readonly DemoRound[]): string {
  const lines: string[] = [];
  for (const [i, { gain, staticRunDir, symbiosisRunDir }] of rounds.entries()) {
    lines.push(
      `round ${i + 1}: symbiosis against static (${staticRunDir}, ${symbiosisRunDir})`,
      formatTable(
        ["app", "static ops/s", "symbiosis ops/s", "ratio", "cache MiB", "bandwidth Mbps"],
        gain.apps.map((a) => [
          a.name,
          a.baselineOpsPerSec.toFixed(0),
          a.opsPerSec.toFixed(0),
          `x${a.ratio.toFixed(3)}`,
          `${a.baselineCacheMiB.toFixed(0)} -> ${a.cacheMiB.toFixed(0)}`,
          `${a.baselineBandwidthMbps.toFixed(0)} -> ${a.bandwidthMbps.toFixed(0)}`,
        ]),
      ),
      `geometric-mean gain x${gain.geometricMeanRatio.toFixed(3)}, worst app x${
        gain.minRatio.toFixed(3)
      } (bar: x${DEMO_BAR.geometricMeanRatio} and no app below x${DEMO_BAR.minRatio}: ${
        gain.geometricMeanRatio >= DEMO_BAR.geometricMeanRatio && gain.minRatio >= DEMO_BAR.minRatio
          ? "met"
          : "not met"
      })`,
      "",
    );
  }
  const gains = rounds.map((r) => r.gain.geometricMeanRatio);
  if (gains.length > 1) {
    lines.push(
      `geometric-mean gain over ${gains.length} rounds: x${Math.min(...gains).toFixed(3)} to x${
        Math.max(...gains).toFixed(3)
      }`,
    );
  }
  return lines.join("\n").trimEnd();
}

/** Builds `spirit bench demo`. */
export function demoBenchCommand() {
  return new Command("demo")
    .description(
      "Run the embedded playbook (playbooks/local.ts) for real under static and under symbiosis " +
        "and print the comparison the README quotes (no root, no SSH)",
    )
    .option("--duration <duration>", "length of each run", durationOption, 60_000)
    .option("--epoch <duration>", "epoch length", durationOption, 3000)
    .option("--repeat <n>", "comparisons to run, one after the other", countOption, 1)
    .option("--out <dir>", "where the run directories go", "results")
    .option("--json", "print the figures as one JSON document")
    .action(async (options) => {
      const rounds = await benchDemo({
        durationMs: options.duration,
        epochMs: options.epoch,
        repeat: options.repeat,
        output: options.out,
        log: (line) => console.error(line),
      });
      console.log(options.json ? JSON.stringify(rounds, null, 2) : formatDemoBench(rounds));
    });
}
