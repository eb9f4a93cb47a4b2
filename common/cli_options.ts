/**
 * Parsers for command-line option values in human units (commander argument parsers): a bad
 * value becomes a usage error naming the accepted forms.
 * @module
 */
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { parseRateBytesPerSec, parseSizeBytes } from "./units.ts";

/** Parses a size option ("512MiB") into bytes. */
export function sizeOption(value: string): number {
  try {
    return parseSizeBytes(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** Parses a rate option ("800Mbps", "100MB/s") into bytes per second. */
export function rateOption(value: string): number {
  try {
    return parseRateBytesPerSec(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}
