/**
 * `spirit exec --cache SIZE --bandwidth RATE [--swap-device DEV] [--json] -- CMD [ARGS...]`.
 * Exits with the command's status; 125 when spirit refuses or fails to run it; 2 on usage errors.
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { rateOption as rate, sizeOption as size } from "../common/cli_options.ts";
import { formatBytes, formatRate } from "../common/units.ts";
import { ExecRefusedError, type ExecResult, runExec } from "./exec.ts";

/** Exit status when spirit exec refuses to run or fails before the command's status is known. */
export const EXIT_EXEC_FAILED = 125;

/** Builds the `exec` command. */
export function execCommand() {
  return new Command("exec")
    .description("Run one command under a cache and bandwidth allocation (cgroup backend; root)")
    .requiredOption(
      "--cache <size>",
      "local memory the command may keep resident, e.g. 512MiB",
      size,
    )
    .requiredOption("--bandwidth <rate>", "swap traffic rate, e.g. 800Mbps or 100MB/s", rate)
    .option(
      "--swap-device <path>",
      "the (remote-memory) swap device to throttle; default: all active",
    )
    .option(
      "--json",
      "print exactly one JSON document on stdout (the command's stdout goes to stderr)",
    )
    .argument("<command...>", "the command and its arguments (after --)")
    .action(async (argv, options) => {
      const encoder = new TextEncoder();
      const controller = new AbortController();
      const onSignal = () => controller.abort();
      Deno.addSignalListener("SIGINT", onSignal);
      Deno.addSignalListener("SIGTERM", onSignal);
      let result: ExecResult;
      try {
        result = await runExec(argv, {
          cacheBytes: options.cache,
          bandwidthBytesPerSec: options.bandwidth,
          ...(options.swapDevice === undefined ? {} : { swapDevice: options.swapDevice }),
          signal: controller.signal,
          sink: async (stream, bytes) => {
            const target = stream === "stdout" && !options.json ? Deno.stdout : Deno.stderr;
            let written = 0;
            while (written < bytes.length) written += await target.write(bytes.subarray(written));
          },
        });
      } catch (error) {
        const message = error instanceof ExecRefusedError
          ? error.message
          : `failed: ${(error as Error).message}`;
        console.error(`spirit exec: ${message}`);
        Deno.exit(EXIT_EXEC_FAILED);
      } finally {
        Deno.removeSignalListener("SIGINT", onSignal);
        Deno.removeSignalListener("SIGTERM", onSignal);
      }
      if (options.json) {
        Deno.stdout.writeSync(encoder.encode(JSON.stringify(result) + "\n"));
      } else {
        console.error(formatExecResult(result));
      }
      Deno.exit(result.exitCode);
    });
}

/** The human-readable summary printed to stderr without --json. */
export function formatExecResult(result: ExecResult): string {
  const lines = [
    `exit ${result.exitCode}${result.signal === null ? "" : ` (${result.signal})`} after ${
      result.durationSec.toFixed(2)
    } s under cache ${formatBytes(result.cacheBytes)}, bandwidth ${
      formatRate(result.bandwidthBytesPerSec)
    }`,
    `peak resident ${formatBytes(result.peakResidentBytes)}, swap in ${
      formatBytes(result.swapInBytes)
    }, ` +
    `swap out ${formatBytes(result.swapOutBytes)}${
      result.swapOutEstimated ? " (estimated)" : ""
    }, ` +
    `major faults ${result.majorFaults}`,
  ];
  for (const [limit, state] of Object.entries(result.enforceable)) {
    if (!state.enforced) lines.push(`note: ${limit} not enforced: ${state.reason}`);
  }
  return lines.map((l) => `spirit exec: ${l}`).join("\n");
}
