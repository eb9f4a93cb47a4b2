/**
 * Option parsers shared by the `spirit bench` targets: a duration ("60s"), a rate ("256kbps")
 * and a count (1 or more), each refusing bad input with commander's InvalidArgumentError.
 * @module
 */
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { parseDurationMs, parseRateBytesPerSec } from "../../common/units.ts";

/** Milliseconds of a duration such as "60s". */
export function durationOption(value: string): number {
  try {
    return parseDurationMs(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** A whole count of at least 1. */
export function countOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a count`);
  return n;
}

/** Bytes/s of a rate above 0 such as "256kbps" or "8Mbps". */
export function rateOption(value: string): number {
  let rate: number;
  try {
    rate = parseRateBytesPerSec(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  if (!(rate > 0)) throw new InvalidArgumentError(`"${value}" is not a rate above 0`);
  return rate;
}
