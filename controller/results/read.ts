/**
 * Reads a run directory: epochs.jsonl and events.jsonl, tolerating a truncated last line (an
 * interrupted run), and playbook.json.
 * @module
 */
import { join } from "node:path";
import { EPOCH_RECORD_VERSION, type EpochRecord, type RunEvent } from "./types.ts";

/** File names inside a run directory. */
export const RUN_FILES = {
  playbook: "playbook.json",
  epochs: "epochs.jsonl",
  events: "events.jsonl",
  apps: "apps.csv",
  summary: "summary.json",
  report: "report.html",
} as const;

/** The records of epochs.jsonl and whether its last line was cut off. */
export interface EpochsFile {
  records: EpochRecord[];
  /** The last line was incomplete or unparsable and was skipped. */
  truncated: boolean;
  /** 1-based line number of the skipped line, when truncated. */
  truncatedLine?: number;
}

/**
 * Parses the text of epochs.jsonl. Only the last line may be broken (a run stopped mid-write);
 * a broken line elsewhere is an error naming its line number.
 */
export function parseEpochs(text: string, source = "epochs.jsonl"): EpochsFile {
  const lines = text.split("\n");
  let lastNonEmpty = lines.length - 1;
  while (lastNonEmpty >= 0 && (lines[lastNonEmpty] ?? "").trim() === "") lastNonEmpty--;
  const records: EpochRecord[] = [];
  let truncatedLine: number | undefined;
  for (const [index, line] of lines.entries()) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      if (index === lastNonEmpty) {
        truncatedLine = index + 1;
        continue;
      }
      throw new SyntaxError(
        `${source}:${index + 1}: not a JSON record (${(error as Error).message})`,
      );
    }
    const record = value as Partial<EpochRecord>;
    if (record.v !== EPOCH_RECORD_VERSION || !Array.isArray(record.apps)) {
      throw new SyntaxError(
        `${source}:${index + 1}: not an epoch record of version ${EPOCH_RECORD_VERSION}`,
      );
    }
    records.push(value as EpochRecord);
  }
  return truncatedLine === undefined
    ? { records, truncated: false }
    : { records, truncated: true, truncatedLine };
}

/** Reads and parses `<runDir>/epochs.jsonl`. */
export async function readEpochs(runDir: string): Promise<EpochsFile> {
  const path = `${runDir}/${RUN_FILES.epochs}`;
  return parseEpochs(await Deno.readTextFile(path), path);
}

/** Events of events.jsonl; a truncated last line is skipped. */
export function parseEvents(text: string, source = "events.jsonl"): RunEvent[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  return lines.flatMap((line, i) => {
    try {
      return [JSON.parse(line) as RunEvent];
    } catch (error) {
      if (i === lines.length - 1) return [];
      throw new SyntaxError(`${source}:${i + 1}: ${(error as Error).message}`);
    }
  });
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Reads and parses `<runDir>/events.jsonl` (no events when the file is missing). */
export async function readEvents(runDir: string): Promise<RunEvent[]> {
  const path = join(runDir, RUN_FILES.events);
  const text = await readOptional(path);
  return text === null ? [] : parseEvents(text, path);
}

/** What a run's playbook.json holds, read defensively (any field may be missing). */
export interface PlaybookJson {
  name?: unknown;
  apps?: unknown;
}

/** Reads `<runDir>/playbook.json` (null when missing); a file that is not a JSON object is an error. */
export async function readPlaybookJson(runDir: string): Promise<PlaybookJson | null> {
  const path = join(runDir, RUN_FILES.playbook);
  const text = await readOptional(path);
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`${path}: not JSON (${(error as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SyntaxError(`${path}: not a JSON object`);
  }
  return value as PlaybookJson;
}
