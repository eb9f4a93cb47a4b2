/**
 * Reads a run directory's epochs.jsonl, tolerating a truncated last line (an interrupted run).
 * @module
 */
import { EPOCH_RECORD_VERSION, type EpochRecord } from "./types.ts";

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
