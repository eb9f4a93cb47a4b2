/**
 * What `spirit compare` runs, before anything runs: the policies (static always among them, as
 * the reference) and the order of the runs, interleaved so that drift of the machine hits every
 * policy alike. Pure.
 * @module
 */
import { POLICIES, type Policy } from "../playbook/types.ts";

/** The reference every ratio is taken to. */
export const REFERENCE_POLICY: Policy = "static";

/** Policies compared when none are given. */
export const DEFAULT_POLICIES: readonly Policy[] = ["static", "symbiosis"];

/** The policies of a comparison, from `--policies`. */
export interface PolicySelection {
  /** In the order given; static first when it had to be added. */
  policies: Policy[];
  /** True when static was not given and was added as the reference. */
  addedReference: boolean;
}

/**
 * Parses `--policies` ("static,symbiosis,drf"): known names, comma-separated, each once.
 * Static is added (first) when missing, since every ratio is to it.
 * @throws {RangeError} naming the bad entry and the accepted values.
 */
export function parsePolicies(text: string): PolicySelection {
  const accepted = `accepted: ${POLICIES.join(", ")}`;
  const names = text.split(",").map((name) => name.trim());
  if (names.every((name) => name === "")) {
    throw new RangeError(`--policies: no policy given (${accepted})`);
  }
  const policies: Policy[] = [];
  for (const [i, name] of names.entries()) {
    if (name === "") throw new RangeError(`--policies: entry ${i + 1} is empty in "${text}"`);
    if (!(POLICIES as readonly string[]).includes(name)) {
      throw new RangeError(`--policies: unknown policy "${name}" (${accepted})`);
    }
    if (policies.includes(name as Policy)) {
      throw new RangeError(`--policies: "${name}" is given twice`);
    }
    policies.push(name as Policy);
  }
  const addedReference = !policies.includes(REFERENCE_POLICY);
  return { policies: addedReference ? [REFERENCE_POLICY, ...policies] : policies, addedReference };
}

/**
 * Parses `--repeat`: a whole number of repetitions from 1 to 100.
 * @throws {RangeError} naming the value.
 */
export function parseRepeat(text: string): number {
  const n = Number(text);
  if (!/^[0-9]+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1 || n > 100) {
    throw new RangeError(`--repeat: expected a whole number from 1 to 100, got "${text}"`);
  }
  return n;
}

/** One run of a comparison. */
export interface ScheduledRun {
  policy: Policy;
  /** Repetition index from 0. */
  repetition: number;
}

/**
 * The order of the runs: repetition by repetition, every policy once per repetition, the
 * order rotated by one each repetition (static, symbiosis, drf; then symbiosis, drf, static;
 * ...) so that no policy always runs first or last.
 * @example comparisonSchedule(["static", "symbiosis"], 2) // static, symbiosis, symbiosis, static
 */
export function comparisonSchedule(policies: readonly Policy[], repeat: number): ScheduledRun[] {
  const runs: ScheduledRun[] = [];
  for (let repetition = 0; repetition < repeat; repetition++) {
    for (let i = 0; i < policies.length; i++) {
      const policy = policies[(i + repetition) % policies.length];
      if (policy !== undefined) runs.push({ policy, repetition });
    }
  }
  return runs;
}

/** The default output directory of a comparison: `<output>/compare-<playbook>-<UTC time>`. */
export function defaultCompareDir(output: string, playbook: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  return `${output.replace(/\/+$/, "")}/compare-${playbook}-${stamp}`;
}
