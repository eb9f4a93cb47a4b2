/**
 * CSV fields (RFC 4180 quoting). Pure.
 * @module
 */

/** One CSV field: empty for null/undefined, quoted when it holds a quote, comma or newline. */
export function csvField(value: string | number | null | undefined): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV line (with its newline) of the given fields. */
export function csvLine(values: ReadonlyArray<string | number | null | undefined>): string {
  return values.map(csvField).join(",") + "\n";
}
