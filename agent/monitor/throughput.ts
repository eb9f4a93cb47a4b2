/**
 * Throughput of unmodified apps: a cumulative operation count read from a command, an HTTP
 * endpoint, or the app's own output lines.
 * @module
 */
import type { ThroughputSource } from "../protocol.ts";

/** Reads a cumulative op count; null when no value could be read this time. */
export interface ThroughputReader {
  read(): Promise<number | null>;
  /** Feeds one line of the app's output (used by `log` sources). */
  onLine(stream: "stdout" | "stderr", line: string): void;
}

/**
 * The first number in `text`, or capture group 1 of `pattern` when given (pure).
 * @example extractCount("ops=42 errors=0", "ops=(\\d+)") // 42
 */
export function extractCount(text: string, pattern?: string): number | null {
  const match = pattern === undefined
    ? /-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?/i.exec(text)
    : new RegExp(pattern).exec(text);
  if (match === null) return null;
  const value = Number(pattern === undefined ? match[0] : match[1] ?? Number.NaN);
  return Number.isFinite(value) ? value : null;
}

/** Counts from output lines: the last captured number, or the number of matching lines. */
export class LogThroughput implements ThroughputReader {
  readonly #pattern: RegExp;
  readonly #stream: "stdout" | "stderr" | "both";
  #total: number | null = null;
  constructor(pattern: string, stream: "stdout" | "stderr" | "both" = "both") {
    this.#pattern = new RegExp(pattern);
    this.#stream = stream;
  }
  onLine(stream: "stdout" | "stderr", line: string): void {
    if (this.#stream !== "both" && this.#stream !== stream) return;
    const match = this.#pattern.exec(line);
    if (match === null) return;
    const captured = match[1];
    if (captured === undefined) {
      this.#total = (this.#total ?? 0) + 1;
    } else {
      const value = Number(captured);
      if (Number.isFinite(value)) this.#total = value;
    }
  }
  read(): Promise<number | null> {
    return Promise.resolve(this.#total);
  }
}

/** Runs a command per read; its stdout's first number is the count. */
class CommandThroughput implements ThroughputReader {
  readonly #argv: string[];
  readonly #timeoutMs: number;
  constructor(argv: string[], timeoutMs: number) {
    this.#argv = argv;
    this.#timeoutMs = timeoutMs;
  }
  onLine(): void {}
  async read(): Promise<number | null> {
    const [program, ...args] = this.#argv;
    if (program === undefined) return null;
    const output = await new Deno.Command(program, {
      args,
      stdout: "piped",
      stderr: "null",
      stdin: "null",
      signal: AbortSignal.timeout(this.#timeoutMs),
    }).output();
    if (!output.success) return null;
    return extractCount(new TextDecoder().decode(output.stdout));
  }
}

/** Fetches a URL per read; the body's first number (or the pattern's capture) is the count. */
class HttpThroughput implements ThroughputReader {
  readonly #url: string;
  readonly #pattern: string | undefined;
  readonly #timeoutMs: number;
  constructor(url: string, options: { pattern: string | undefined; timeoutMs: number }) {
    this.#url = url;
    this.#pattern = options.pattern;
    this.#timeoutMs = options.timeoutMs;
  }
  onLine(): void {}
  async read(): Promise<number | null> {
    const response = await fetch(this.#url, { signal: AbortSignal.timeout(this.#timeoutMs) });
    const body = await response.text();
    if (!response.ok) return null;
    return extractCount(body, this.#pattern);
  }
}

/** Builds the reader for a configured source (null for `none`). */
export function throughputReader(source: ThroughputSource): ThroughputReader | null {
  switch (source.kind) {
    case "none":
      return null;
    case "log":
      return new LogThroughput(source.pattern, source.stream);
    case "command":
      return new CommandThroughput(source.argv, source.timeoutMs ?? 800);
    case "http":
      return new HttpThroughput(source.url, {
        pattern: source.pattern,
        timeoutMs: source.timeoutMs ?? 800,
      });
  }
}
