/**
 * The workload side of the far-memory control channel (common/farmem_control.ts): reads request
 * lines, answers each with exactly one response line carrying the same id.
 * @module
 */
import type { FarmemRequest, FarmemResponse } from "../common/farmem_control.ts";
import type { WorkloadRunner } from "./runner.ts";

/** Parses one request line; throws a RangeError naming what is wrong. */
export function parseRequest(line: string): FarmemRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    throw new RangeError(`Request is not JSON: ${line.slice(0, 80)}`, { cause });
  }
  if (typeof value !== "object" || value === null) {
    throw new RangeError("Request must be an object");
  }
  const record = value as Record<string, unknown>;
  const id = record.id;
  if (typeof id !== "number" || !Number.isFinite(id)) {
    throw new RangeError("Request needs a numeric id");
  }
  switch (record.op) {
    case "sample":
    case "stop":
      return { id, op: record.op };
    case "set-limits": {
      const { cacheBytes, bandwidthBytesPerSec } = record;
      if (typeof cacheBytes !== "number" || !(cacheBytes >= 0) || !Number.isFinite(cacheBytes)) {
        throw new RangeError("set-limits: cacheBytes must be a finite number >= 0");
      }
      if (typeof bandwidthBytesPerSec !== "number" || !(bandwidthBytesPerSec >= 0)) {
        throw new RangeError("set-limits: bandwidthBytesPerSec must be a number >= 0");
      }
      return { id, op: "set-limits", cacheBytes, bandwidthBytesPerSec };
    }
    default:
      throw new RangeError(
        `Unknown op ${JSON.stringify(record.op)}: expected set-limits, sample or stop`,
      );
  }
}

function idOf(line: string): number {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === "object" && value !== null) {
      const id = (value as Record<string, unknown>).id;
      if (typeof id === "number") return id;
    }
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  return -1;
}

/**
 * Serves requests from `lines` until a stop request or the end of input (both stop the runner).
 * `write` receives one JSON line per response.
 */
export async function serveControl(
  lines: AsyncIterable<string>,
  options: { runner: WorkloadRunner; write: (line: string) => Promise<void> | void },
): Promise<void> {
  const { runner, write } = options;
  const respond = (response: FarmemResponse) => write(JSON.stringify(response));
  for await (const line of lines) {
    if (line.trim() === "") continue;
    let request: FarmemRequest;
    try {
      request = parseRequest(line);
    } catch (error) {
      await respond({
        id: idOf(line),
        ok: false,
        error: String(error instanceof Error ? error.message : error),
      });
      continue;
    }
    try {
      if (request.op === "set-limits") {
        await runner.cache.setLimits({
          cacheBytes: request.cacheBytes,
          bandwidthBytesPerSec: request.bandwidthBytesPerSec,
        });
        await respond({ id: request.id, ok: true });
      } else if (request.op === "sample") {
        await respond({ id: request.id, ok: true, sample: runner.sample() });
      } else {
        runner.stop();
        await respond({ id: request.id, ok: true, sample: runner.sample() });
        return;
      }
    } catch (error) {
      await respond({
        id: request.id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  runner.stop();
}
