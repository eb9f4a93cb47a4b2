/**
 * `spirit compare PLAYBOOK`: runs a playbook once per policy and repetition (for real, or in
 * the simulator with `--simulate`) and writes compare.json, compare.csv and compare.html. With
 * `--json`, stdout is exactly compare.json; progress always goes to stderr.
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { PlaybookError } from "../playbook/errors.ts";
import { loadPlaybook } from "../playbook/load.ts";
import { applyOverrides } from "../playbook/overrides.ts";
import type { Playbook } from "../playbook/types.ts";
import { formatComparison } from "./format.ts";
import { missingResults, realRun, runComparison, simulatedRun } from "./run_comparison.ts";
import {
  DEFAULT_POLICIES,
  defaultCompareDir,
  parsePolicies,
  parseRepeat,
  REFERENCE_POLICY,
} from "./schedule.ts";
import { compareJson } from "./write.ts";

const EXIT_USAGE = 2;
const EXIT_NO_RESULT = 1;
const EXIT_INTERRUPTED = 130;

/** The flags of `spirit compare`, as commander gives them. */
export interface CompareFlags {
  policies?: string;
  repeat?: string;
  simulate?: true;
  duration?: string;
  out?: string;
  json?: true;
}

/** Everything checked before the first run starts. */
interface ComparePlan {
  playbook: Playbook;
  policies: ReturnType<typeof parsePolicies>;
  repeat: number;
  outDir: string;
}

/** Checks the playbook and flags; throws a PlaybookError or RangeError naming what is wrong. */
async function planComparison(path: string, flags: CompareFlags): Promise<ComparePlan> {
  const policies = flags.policies === undefined
    ? { policies: [...DEFAULT_POLICIES], addedReference: false }
    : parsePolicies(flags.policies);
  if (policies.policies.length < 2) {
    throw new RangeError(
      `--policies: give at least one policy besides ${REFERENCE_POLICY}, the reference`,
    );
  }
  const repeat = flags.repeat === undefined ? 1 : parseRepeat(flags.repeat);
  const loaded = await loadPlaybook(path);
  const playbook = flags.duration === undefined
    ? loaded
    : applyOverrides(loaded, { duration: flags.duration }, { source: path });
  if (playbook.durationMs === null) {
    throw new RangeError(
      `Playbook ${playbook.name} runs until stopped; a comparison needs a duration (--duration)`,
    );
  }
  if (flags.out === "") throw new RangeError("--out: must not be empty");
  const outDir = flags.out ?? defaultCompareDir(playbook.output, playbook.name, new Date());
  return { playbook, policies, repeat, outDir };
}

/** Runs `spirit compare` with its flags; resolves to the exit status. */
export async function compareWithFlags(path: string, flags: CompareFlags): Promise<number> {
  let plan: ComparePlan;
  try {
    plan = await planComparison(path, flags);
  } catch (error) {
    if (
      error instanceof PlaybookError || error instanceof RangeError ||
      error instanceof Deno.errors.NotFound
    ) {
      console.error(`error: ${error.message}`);
      return EXIT_USAGE;
    }
    throw error;
  }
  const say = (line: string) => console.error(line);
  if (plan.policies.addedReference) {
    say(`note: added ${REFERENCE_POLICY}, the reference every ratio is taken to`);
  }
  const controller = new AbortController();
  const stop = () => controller.abort(new Error("interrupted"));
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const started = performance.now();
  try {
    say(
      `Comparing ${plan.policies.policies.join(", ")} on ${plan.playbook.name}, ` +
        `${plan.repeat} repetition${plan.repeat === 1 ? "" : "s"}` +
        `${flags.simulate ? " in the simulator" : ""}; results in ${plan.outDir}`,
    );
    const result = await runComparison(plan.playbook, {
      policies: plan.policies.policies,
      repeat: plan.repeat,
      outDir: plan.outDir,
      runOne: flags.simulate ? simulatedRun : realRun,
      signal: controller.signal,
      progress: say,
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (flags.json) {
      await Deno.stdout.write(new TextEncoder().encode(compareJson(result.comparison)));
    } else {
      console.log(formatComparison(result.comparison));
      console.log(`Results: ${result.files.htmlPath} (also compare.json, compare.csv)`);
    }
    say(`Compared in ${seconds} s`);
    if (result.interrupted) {
      say("interrupted: the runs that finished were compared");
      return EXIT_INTERRUPTED;
    }
    const missing = missingResults(result.comparison);
    if (missing !== null) {
      say(`error: nothing to compare: ${missing}`);
      return EXIT_NO_RESULT;
    }
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
  }
}

/** Builds `spirit compare`. */
export function compareCommand() {
  return new Command("compare")
    .description(
      "Run a playbook once per policy and repetition (interleaved), for real or in the " +
        "simulator, and compare: compare.json, compare.csv, compare.html",
    )
    .argument("<playbook>", "a playbook file")
    .option(
      "--policies <list>",
      `policies to compare, comma-separated (default ${DEFAULT_POLICIES.join(",")}; ` +
        `${REFERENCE_POLICY} is always added as the reference)`,
    )
    .option("--repeat <n>", "repetitions of every policy (default 1)")
    .option("--simulate", "run in the simulator (virtual time, seed + repetition)")
    .option("--duration <duration>", "override the playbook's run length")
    .option("--out <dir>", "output directory (default <output>/compare-<playbook>-<time>)")
    .option("--json", "print compare.json on stdout (progress stays on stderr)")
    .action(async (path, flags) => {
      Deno.exit(await compareWithFlags(path, flags as CompareFlags));
    });
}
