/**
 * Command-line overrides of a playbook (`--policy`, `--epoch`, `--duration`, `--out`,
 * `--ssh-concurrency`),
 * parsed and checked like the file's own fields. Pure.
 * @module
 */
import { parseDurationMs } from "../../common/units.ts";
import { PlaybookError, type PlaybookIssue } from "./errors.ts";
import { type Playbook, POLICIES, type Policy } from "./types.ts";
import { crossCheck } from "./validate.ts";

/** Overrides as given on the command line (human units). */
export interface PlaybookOverrides {
  policy?: string;
  epoch?: string;
  /** A duration, or "forever". */
  duration?: string;
  out?: string;
  /** `ssh.maxParallel` (`--ssh-concurrency`): a whole number from 1. */
  sshConcurrency?: string;
}

/**
 * Returns a copy of `playbook` with the overrides applied and checked.
 * @throws {PlaybookError} naming the flag and the accepted values.
 */
export function applyOverrides(
  playbook: Playbook,
  overrides: PlaybookOverrides,
  options: { source?: string } = {},
): Playbook {
  const issues: PlaybookIssue[] = [];
  const result: Playbook = { ...playbook };
  if (overrides.policy !== undefined) {
    if ((POLICIES as readonly string[]).includes(overrides.policy)) {
      result.policy = overrides.policy as Policy;
    } else {
      issues.push({
        path: "policy (--policy)",
        message: `must be one of ${
          POLICIES.map((p) => `"${p}"`).join(", ")
        } (got "${overrides.policy}")`,
      });
    }
  }
  const duration = (flag: string, text: string, apply: (ms: number) => void) => {
    try {
      apply(parseDurationMs(text));
    } catch (error) {
      issues.push({ path: flag, message: (error as Error).message });
    }
  };
  if (overrides.epoch !== undefined) {
    duration("epoch (--epoch)", overrides.epoch, (ms) => result.epochMs = ms);
  }
  if (overrides.duration !== undefined) {
    if (overrides.duration === "forever") result.durationMs = null;
    else duration("duration (--duration)", overrides.duration, (ms) => result.durationMs = ms);
  }
  if (overrides.out !== undefined) {
    if (overrides.out === "") issues.push({ path: "output (--out)", message: "must not be empty" });
    else result.output = overrides.out;
  }
  if (overrides.sshConcurrency !== undefined) {
    const n = Number(overrides.sshConcurrency);
    if (Number.isInteger(n) && n >= 1 && n <= 4096) result.ssh = { ...result.ssh, maxParallel: n };
    else {
      issues.push({
        path: "ssh.maxParallel (--ssh-concurrency)",
        message: `must be a whole number from 1 to 4096 (got "${overrides.sshConcurrency}")`,
      });
    }
  }
  if (issues.length === 0) issues.push(...crossCheck(result));
  if (issues.length > 0) {
    throw new PlaybookError(options.source ?? `"${playbook.name}"`, issues);
  }
  return result;
}
