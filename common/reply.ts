/**
 * Checking a message another process sent (an agent's reply, a workload's response) against its
 * schema: the typed value, or an error naming the field that is wrong. Never a cast.
 * @module
 */
import type { z } from "zod";

/** A message did not match its schema; `field` is the path of the first wrong field. */
export class MalformedReplyError extends Error {
  readonly field: string;
  constructor(what: string, field: string, detail: string) {
    super(`Malformed ${what}: ${detail}`);
    this.name = "MalformedReplyError";
    this.field = field;
  }
}

/** `path` as `a.b[2].c`, or `(message)` for the message itself. */
function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(message)";
  return path.map((key, i) =>
    typeof key === "number" ? `[${key}]` : `${i === 0 ? "" : "."}${String(key)}`
  ).join("");
}

/**
 * `value` checked against `schema`.
 * @throws {MalformedReplyError} naming `what` (e.g. "reply to samples from agent on cn1") and
 * every wrong field with what was expected.
 */
export function parseReply<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const detail = issues.slice(0, 5).map((issue) => `${formatPath(issue.path)}: ${issue.message}`)
    .join("; ") + (issues.length > 5 ? `; and ${issues.length - 5} more` : "");
  throw new MalformedReplyError(what, formatPath(issues[0]?.path ?? []), detail);
}

/** JSON text parsed, or a MalformedReplyError naming `what`. */
export function parseJsonReply(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MalformedReplyError(
      what,
      "(message)",
      `not JSON (${(error as Error).message}): ${text.slice(0, 120)}`,
    );
  }
}
