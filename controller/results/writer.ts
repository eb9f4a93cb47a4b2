/**
 * The run directory writer: playbook.json (the resolved playbook), epochs.jsonl (one line per
 * epoch, written through as it happens), apps.csv, events.jsonl, and at the end summary.json
 * and report.html.
 * @module
 */
import { join } from "node:path";
import type { Playbook } from "../playbook/types.ts";
import { csvLine } from "./csv.ts";
import { RUN_FILES } from "./read.ts";
import { rebuildReport, type RebuildResult } from "./rebuild.ts";
import type { EpochRecord, RecordSink, RunEvent } from "./types.ts";

const encoder = new TextEncoder();

/** Columns of apps.csv, one row per app per epoch. */
export const APPS_CSV_COLUMNS = [
  "epoch",
  "time",
  "phase",
  "app",
  "host",
  "cacheMiB",
  "bandwidthMbps",
  "opsPerSec",
  "predictedOpsPerSec",
  "usedCacheMiB",
  "remoteReadMbps",
  "remoteWriteMbps",
] as const;

/** The CSV rows (no header) of one epoch record. */
export function csvRows(record: EpochRecord): string {
  return record.apps.map((a) =>
    csvLine([
      record.epoch,
      record.time,
      record.phase,
      a.name,
      a.host,
      a.cacheMiB,
      a.bandwidthMbps,
      a.opsPerSec,
      a.predictedOpsPerSec,
      a.used.cacheMiB,
      a.used.remoteReadMbps,
      a.used.remoteWriteMbps,
    ])
  ).join("");
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) offset += await file.write(data.subarray(offset));
}

function stamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "").replaceAll(":", "").replace("T", "-");
}

/** Options of {@linkcode RunWriter.create}. */
export interface RunWriterOptions {
  /** Clock for the directory name (default now). */
  now?: Date;
  /** Parent directory (default the playbook's `output`). */
  output?: string;
  /** Also receive every epoch and event once written (e.g. the live metrics). */
  sinks?: readonly RecordSink[];
}

/** Writes one run's directory; every write goes straight to the file (nothing buffered). */
export class RunWriter implements AsyncDisposable {
  /** The run directory. */
  readonly dir: string;
  readonly #epochs: Deno.FsFile;
  readonly #events: Deno.FsFile;
  readonly #apps: Deno.FsFile;
  readonly #sinks: readonly RecordSink[];
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(
    dir: string,
    files: { epochs: Deno.FsFile; events: Deno.FsFile; apps: Deno.FsFile },
    sinks: readonly RecordSink[],
  ) {
    this.dir = dir;
    this.#sinks = sinks;
    this.#epochs = files.epochs;
    this.#events = files.events;
    this.#apps = files.apps;
  }

  /**
   * Creates `<output>/<playbook>-<policy>-<UTC time>` (with a numeric suffix if taken), writes
   * playbook.json and opens the record files.
   */
  static async create(playbook: Playbook, options: RunWriterOptions = {}): Promise<RunWriter> {
    const parent = options.output ?? playbook.output;
    await Deno.mkdir(parent, { recursive: true });
    const base = join(
      parent,
      `${playbook.name}-${playbook.policy}-${stamp(options.now ?? new Date())}`,
    );
    let dir = base;
    for (let n = 2;; n++) {
      try {
        await Deno.mkdir(dir);
        break;
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists) || n > 1000) throw error;
        dir = `${base}-${n}`;
      }
    }
    await Deno.writeTextFile(
      join(dir, RUN_FILES.playbook),
      JSON.stringify(playbook, null, 2) + "\n",
    );
    const open = (name: string) =>
      Deno.open(join(dir, name), { write: true, create: true, append: true });
    const writer = new RunWriter(dir, {
      epochs: await open(RUN_FILES.epochs),
      events: await open(RUN_FILES.events),
      apps: await open(RUN_FILES.apps),
    }, options.sinks ?? []);
    await writer.#enqueue(writer.#apps, APPS_CSV_COLUMNS.join(",") + "\n");
    return writer;
  }

  #enqueue(file: Deno.FsFile, text: string): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`The run writer for ${this.dir} is closed`));
    const next = this.#queue.then(() => writeAll(file, encoder.encode(text)));
    // The caller gets the error through `next`; the queue itself carries on with later writes.
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Appends one epoch to epochs.jsonl (one line, written through) and its rows to apps.csv,
   * then hands it to the sinks.
   */
  async writeEpoch(record: EpochRecord): Promise<void> {
    await this.#enqueue(this.#epochs, JSON.stringify(record) + "\n");
    await this.#enqueue(this.#apps, csvRows(record));
    for (const sink of this.#sinks) sink.epoch(record);
  }

  /** Appends one event to events.jsonl, then hands it to the sinks. */
  async event(event: RunEvent): Promise<void> {
    await this.#enqueue(this.#events, JSON.stringify(event) + "\n");
    for (const sink of this.#sinks) sink.event(event);
  }

  /** Closes the files, then writes summary.json and report.html from epochs.jsonl. */
  async finish(options: { baselineRunDir?: string } = {}): Promise<RebuildResult> {
    await this.close();
    return await rebuildReport(this.dir, options);
  }

  /** Closes the record files (after pending writes); idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    this.#epochs.close();
    this.#events.close();
    this.#apps.close();
  }

  /** Same as `close`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
