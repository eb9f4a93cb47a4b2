/**
 * Human units, parsed once at the edges into plain numbers.
 *
 * Memory sizes are binary (1 MiB = 2^20 B), the SI suffixes kB/MB/GB/TB are decimal.
 * Rates are decimal: 1 Mbps = 125,000 B/s. Durations become milliseconds.
 * @module
 */

/** Bytes per second in one megabit per second (decimal, as network rates are quoted). */
export const BYTES_PER_SEC_PER_MBPS = 125_000;
/** Bytes in one mebibyte. */
export const BYTES_PER_MIB = 1 << 20;

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
};

const RATE_UNITS: Record<string, number> = {
  bps: 1 / 8,
  kbps: 1e3 / 8,
  mbps: 1e6 / 8,
  gbps: 1e9 / 8,
  tbps: 1e12 / 8,
  "b/s": 1,
  "kb/s": 1e3,
  "mb/s": 1e6,
  "gb/s": 1e9,
  "kib/s": 2 ** 10,
  "mib/s": 2 ** 20,
  "gib/s": 2 ** 30,
};

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1e3,
  m: 60e3,
  h: 3600e3,
};

// Case-sensitive forms that would be ambiguous when lower-cased: "Mb/s" (megabits) vs "MB/s".
const BIT_RATE_SUFFIX = /^(?<n>[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*(?<u>[kKMGT]?b\/s)$/;

function parseNumberWithUnit(
  text: string,
  units: Record<string, number>,
  what: string,
  accepted: string,
): number {
  const match = /^\s*(?<n>[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*(?<u>[a-z/]*)\s*$/i.exec(text);
  const number = match?.groups?.n;
  const unit = match?.groups?.u?.toLowerCase() ?? "";
  const scale = units[unit];
  if (number === undefined || scale === undefined) {
    throw new RangeError(`Cannot parse ${what} "${text}": expected a number with ${accepted}`);
  }
  const value = Number(number) * scale;
  if (!Number.isFinite(value)) {
    throw new RangeError(`Cannot parse ${what} "${text}": the value is not finite`);
  }
  return value;
}

/**
 * Parses a memory size such as "512MiB", "4GiB", "2G" (binary) or "1GB" (decimal) into bytes.
 * A bare number is bytes. Numbers pass through unchanged.
 * @example parseSizeBytes("512MiB") // 536870912
 */
export function parseSizeBytes(text: string | number): number {
  if (typeof text === "number") return checkNonNegative(text, "size");
  return Math.round(
    parseNumberWithUnit(
      text,
      SIZE_UNITS,
      "size",
      "B, KiB, MiB, GiB, TiB (or K, M, G, T), kB, MB, GB, TB",
    ),
  );
}

/**
 * Parses a rate such as "1Gbps", "800Mbps" (bits, decimal) or "100MB/s", "64MiB/s" (bytes)
 * into bytes per second. A bare number is bytes per second.
 * @example parseRateBytesPerSec("1Gbps") // 125000000
 */
export function parseRateBytesPerSec(text: string | number): number {
  if (typeof text === "number") return checkNonNegative(text, "rate");
  const bitForm = BIT_RATE_SUFFIX.exec(text.trim());
  if (
    bitForm?.groups?.u !== undefined && /b\/s$/.test(bitForm.groups.u) && bitForm.groups.u !== "b/s"
  ) {
    // "Mb/s" spelled with a lower-case b means megabits; the upper-case "MB/s" means bytes.
    const prefix = bitForm.groups.u[0]?.toLowerCase() ?? "";
    return parseNumberWithUnit(`${bitForm.groups.n}${prefix}bps`, RATE_UNITS, "rate", "");
  }
  if (/^\s*[0-9.e+-]+\s*$/i.test(text)) return checkNonNegative(Number(text), "rate");
  return parseNumberWithUnit(
    text,
    RATE_UNITS,
    "rate",
    "bps, Kbps, Mbps, Gbps (bits) or B/s, KB/s, MB/s, GB/s, KiB/s, MiB/s, GiB/s (bytes)",
  );
}

/**
 * Parses a duration such as "500ms", "30s", "2m", "1h" or "1m30s" into milliseconds.
 * A bare number is milliseconds.
 * @example parseDurationMs("1m30s") // 90000
 */
export function parseDurationMs(text: string | number): number {
  if (typeof text === "number") return checkNonNegative(text, "duration");
  const trimmed = text.trim();
  if (/^[0-9]*\.?[0-9]+$/.test(trimmed)) return Number(trimmed);
  const parts = [...trimmed.matchAll(/([0-9]*\.?[0-9]+)\s*(ms|s|m|h)/gy)];
  const consumed = parts.map((p) => p[0]).join("");
  if (parts.length === 0 || consumed.replace(/\s/g, "") !== trimmed.replace(/\s/g, "")) {
    throw new RangeError(
      `Cannot parse duration "${text}": expected a number with ms, s, m or h (for example "30s" or "1m30s")`,
    );
  }
  let total = 0;
  for (const [, number, unit] of parts) {
    total += Number(number) * (DURATION_UNITS[unit ?? ""] ?? Number.NaN);
  }
  return total;
}

function checkNonNegative(value: number, what: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Invalid ${what} ${value}: expected a finite non-negative number`);
  }
  return value;
}

/** Formats bytes with a binary unit, for tables and logs. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let index = 0;
  while (Math.abs(value) >= 1024 && index < units.length - 1) {
    value /= 1024;
    index++;
  }
  return `${index === 0 ? value.toFixed(0) : value.toFixed(1)}${units[index]}`;
}

/** Formats a rate in bytes/s as Mbps or Gbps, for tables and logs. */
export function formatRate(bytesPerSec: number): string {
  const mbps = bytesPerSec / BYTES_PER_SEC_PER_MBPS;
  return mbps >= 1000 ? `${(mbps / 1000).toFixed(2)}Gbps` : `${mbps.toFixed(1)}Mbps`;
}
