/**
 * The block device prober (device_prober.c): a swap device's data path without the kernel's swap
 * code, with direct I/O on the device itself (1 MiB writes, 1 MiB sequential reads, 4 KiB random
 * reads at depth 1, every page verified). It overwrites the device: run it only on a device that
 * is not in use as swap.
 * @module
 */
import { CommandError, run } from "../system.ts";
import { buildCProgram, type CProgram, lastJsonLine } from "./c_program.ts";

/** One device prober run's report (the JSON object it prints). */
export interface DeviceProberReport {
  /** Bytes written, then read back in order. */
  bytes: number;
  writeUs: number;
  seqReadUs: number;
  randomReads: number;
  randomUs: number;
  readP50Us: number;
  readP99Us: number;
  /** Pages that read back wrong (must be 0). */
  badPages: number;
}

/** Compiles the device prober (needs gcc and libc6-dev). */
export function buildDeviceProber(): Promise<CProgram> {
  return buildCProgram("device_prober.c", "device_prober");
}

/** The device prober's argv: `sizeMiB` written and read back, `randomReads` timed 4 KiB reads. */
export function deviceProberArgv(
  prober: CProgram,
  options: { device: string; sizeMiB: number; randomReads: number; seed: number },
): string[] {
  return [
    prober.path,
    options.device,
    String(options.sizeMiB),
    String(options.randomReads),
    String(options.seed),
  ];
}

/** Parses the device prober's output (its one JSON line). */
export function parseDeviceProberReport(stdout: string): DeviceProberReport {
  return lastJsonLine(stdout, "device prober") as DeviceProberReport;
}

/** Runs the device prober (argv from deviceProberArgv); throws when it fails or finds a wrong page. */
export async function runDeviceProber(argv: string[]): Promise<DeviceProberReport> {
  try {
    return parseDeviceProberReport(await run(argv));
  } catch (error) {
    if (error instanceof CommandError && error.code === 3) {
      throw new Error(`The device prober read back wrong pages from ${argv[1]}`, { cause: error });
    }
    throw error;
  }
}
