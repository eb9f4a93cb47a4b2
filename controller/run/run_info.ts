/**
 * A run's record (`run.json` in its run directory): its id, the playbook it ran and its host
 * directory, which is always derived from the id (`/tmp/spirit-<run id>`), so `spirit down`
 * can check a record before acting on it. Pure.
 * @module
 */
import { z } from "zod";

/** Written to a run directory so `spirit down` finds what the run created. */
export interface RunInfo {
  runId: string;
  /** The playbook's name (records written before this field existed lack it). */
  playbook?: string;
  /** Directory of the run's files on every host: {@linkcode hostDirFor}(runId). */
  hostDir: string;
  startedAt: string;
}

/** File name of RunInfo in a run directory. */
export const RUN_INFO_FILE = "run.json";

/** What a run id may contain: it names a directory (`spirit-<id>`, at most 255 bytes) on hosts. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,247}$/;

/** The directory of a run's files on every host. */
export function hostDirFor(runId: string): string {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new RangeError(
      `Invalid run id ${JSON.stringify(runId)}: expected letters, digits, _ . - (not first)`,
    );
  }
  return `/tmp/spirit-${runId}`;
}

/** The record of a run of `playbookName` with id `runId`, started at `startedAt` (ISO time). */
export function runInfoFor(
  runId: string,
  options: { playbook: string; startedAt: string },
): RunInfo {
  return {
    runId,
    playbook: options.playbook,
    hostDir: hostDirFor(runId),
    startedAt: options.startedAt,
  };
}

/** A run record that is unreadable, malformed or inconsistent; the message says why. */
export class RunRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunRecordError";
  }
}

const runInfoSchema = z.object({
  runId: z.string().regex(RUN_ID_PATTERN, "letters, digits, _ . - (not first)"),
  playbook: z.string().min(1).exactOptional(),
  hostDir: z.string(),
  startedAt: z.string(),
});

/**
 * Parses and checks a run record: every field well-formed and the host directory exactly the
 * one derived from the run id (a record pointing elsewhere is refused).
 * @throws {RunRecordError} naming `source` and the field.
 */
export function parseRunInfo(text: string, source: string): RunInfo {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RunRecordError(`${source}: not JSON (${(error as Error).message})`);
  }
  const parsed = runInfoSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) =>
      `${issue.path.length > 0 ? issue.path.join(".") : "(record)"}: ${issue.message}`
    );
    throw new RunRecordError(`${source}: ${issues.join("; ")}`);
  }
  const info = parsed.data;
  const expected = hostDirFor(info.runId);
  if (info.hostDir !== expected) {
    throw new RunRecordError(
      `${source}: hostDir ${JSON.stringify(info.hostDir)} is not the host directory of run ` +
        `${info.runId} (${expected}); refusing to act on a tampered record`,
    );
  }
  return info;
}
