/**
 * `spirit remote-swap up|status|down|daemon`: a swap device whose pages live on a spirit memory
 * server, for unmodified programs, without a kernel module. Refusals exit 1 with one line;
 * usage errors exit 2.
 * @module
 */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { rateOption as rate, sizeOption as size } from "../common/cli_options.ts";
import { formatBytes, formatRate } from "../common/units.ts";
import { readTokenFile } from "../common/token_file.ts";
import { parseHostPort } from "../memserver/client/transport.ts";
import { DEFAULT_RETRY } from "./backend.ts";
import { runSwapDaemon } from "./daemon.ts";
import { type DeviceSelector, removeRemoteSwap } from "./down.ts";
import { DEVICE_ID_PATTERN, stateRoot } from "./state_dir.ts";
import { listDevices } from "./status.ts";
import { DEFAULT_SWAP_PRIORITY, RemoteSwapRefused, startRemoteSwap } from "./up.ts";

/** Exit status of a refusal (not root, no /dev/fuse, memory server unreachable or refusing). */
export const EXIT_REFUSED = 1;

function refuse(command: string, message: string): never {
  console.error(`spirit remote-swap ${command}: ${message}`);
  Deno.exit(EXIT_REFUSED);
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer in ${min}..${max}`);
    }
    return n;
  };
}

function hostPort(value: string): string {
  try {
    parseHostPort(value);
    return value;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

const engineOption = () =>
  new Option(
    "--engine <kind>",
    "data path over TCP: c (memory-locked C engine) or ts (TypeScript workers, for comparison)",
  ).choices(["c", "ts"] as const).default("c" as const);

/** Tests only: attach the loop device but never enable swap on it (nobody else's pages land there). */
const noSwaponOption = () =>
  new Option("--no-swapon", "attach the loop device without enabling swap (tests)").hideHelp();

const transportOption = () =>
  new Option("--transport <kind>", "how to reach the memory server").choices(
    ["tcp", "rdma", "auto"] as const,
  ).default("auto" as const);

/** Builds `spirit remote-swap`. */
export function remoteSwapCommand() {
  const command = new Command("remote-swap").description(
    "A swap device whose pages live on a spirit memory server (FUSE + loop device; root)",
  );
  command.command("up")
    .description("Start a remote swap device; returns once it is active")
    .requiredOption("--memserver <host:port>", "the memory server", hostPort)
    .requiredOption("--token-file <path>", "file holding the memory server's secret")
    .requiredOption("--size <size>", "device size, e.g. 16GiB", size)
    .addOption(transportOption())
    .option(
      "--priority <n>",
      `swapon priority (default ${DEFAULT_SWAP_PRIORITY})`,
      integer(-1, 32767),
    )
    .option("--write-cap <rate>", "node-level swap-out cap, e.g. 400Mbps (default none)", rate)
    .option("--workers <n>", "I/O worker threads over TCP (default 2)", integer(1, 16))
    .addOption(engineOption())
    .addOption(noSwaponOption())
    .option("--json", "print exactly one JSON document on stdout")
    .action(async (options) => {
      try {
        const result = await startRemoteSwap({
          memserver: options.memserver,
          tokenFile: options.tokenFile,
          sizeBytes: options.size,
          transport: options.transport,
          ...(options.priority === undefined ? {} : { priority: options.priority }),
          ...(options.writeCap === undefined ? {} : { writeCapBytesPerSec: options.writeCap }),
          ...(options.workers === undefined ? {} : { workers: options.workers }),
          engine: options.engine,
          swapon: options.swapon,
        });
        if (options.json) console.log(JSON.stringify(result));
        else {
          console.log(
            `Remote swap ${result.device} active: ${formatBytes(result.sizeBytes)} on ` +
              `${result.memserver} over ${result.transport} (priority ${result.priority}, ` +
              `daemon pid ${result.pid}, mount ${result.mountpoint})`,
          );
        }
      } catch (error) {
        if (error instanceof RemoteSwapRefused) refuse("up", error.message);
        throw error;
      }
    });
  command.command("status")
    .description("List active remote swap devices")
    .option("--json", 'print exactly one JSON document: {"devices":[...]}')
    .action(async (options) => {
      if (Deno.uid() !== 0) refuse("status", "the remote swap state is readable by root only");
      const document = await listDevices(stateRoot());
      if (options.json) {
        console.log(JSON.stringify(document));
        return;
      }
      if (document.devices.length === 0) {
        console.log("No remote swap devices.");
        return;
      }
      for (const d of document.devices) {
        console.log(
          `${d.device ?? "(no device)"}  ${d.state}  ${
            formatBytes(d.sizeBytes)
          } on ${d.memserver} ` +
            `(${d.transport})  read ${formatBytes(d.bytesRead)}  written ${
              formatBytes(d.bytesWritten)
            }  ` +
            `remote ${formatBytes(d.remoteBytesInUse)}` +
            (d.lostBytes > 0 ? `  LOST ${formatBytes(d.lostBytes)}` : "") +
            (d.writeCapBytesPerSec === null
              ? ""
              : `  write cap ${formatRate(d.writeCapBytesPerSec)}`) +
            `  pid ${d.pid}`,
        );
      }
    });
  command.command("down")
    .description("Remove a remote swap device (swapoff, loop detach, unmount, daemon exit)")
    .argument("[device]", "the loop device, e.g. /dev/loop3")
    .option("--all", "remove every remote swap device")
    .option(
      "--label <label>",
      "remove the devices started with this label (an agent's state directory)",
    )
    .option("--json", 'print exactly one JSON document: {"removed":[...]}')
    .action(async (device, options) => {
      const named = [device !== undefined, options.all === true, options.label !== undefined];
      if (named.filter(Boolean).length !== 1) {
        console.error("spirit remote-swap down: name one DEVICE, --all or --label LABEL");
        Deno.exit(2);
      }
      if (Deno.uid() !== 0) refuse("down", "removing a swap device needs root");
      const which: DeviceSelector = options.all === true
        ? "all"
        : options.label !== undefined
        ? { label: options.label }
        : { device: device ?? "" };
      let removed;
      try {
        removed = await removeRemoteSwap(stateRoot(), which);
      } catch (error) {
        refuse("down", (error as Error).message);
      }
      if (options.json) {
        console.log(JSON.stringify({ removed }));
        return;
      }
      if (removed.length === 0) {
        console.log(
          which === "all"
            ? "No remote swap devices to remove."
            : "label" in which
            ? `No remote swap device labelled ${which.label} (already removed).`
            : `No remote swap device ${which.device} (already removed).`,
        );
      }
      for (const r of removed) {
        console.log(`Removed ${r.device ?? `device ${r.id}`}: ${r.removed.join(", ")}`);
      }
    });
  command.command("daemon", { hidden: true })
    .description("Run the swap daemon in the foreground (started by up)")
    .requiredOption("--id <id>", "device id (16 hex digits)")
    .requiredOption("--state-dir <dir>", "state directory")
    .requiredOption("--memserver <host:port>", "the memory server", hostPort)
    .requiredOption("--token-file <path>", "file holding the secret")
    .requiredOption("--size <bytes>", "device size", size)
    .addOption(transportOption())
    .requiredOption("--priority <n>", "swapon priority", integer(-1, 32767))
    .requiredOption("--workers <n>", "I/O worker threads", integer(1, 16))
    .option("--write-cap <rate>", "node-level swap-out cap", rate)
    .requiredOption("--ready-socket <path>", "Unix socket that receives the ready line")
    .option("--label <text>", "recorded with the device (who started it)")
    .addOption(engineOption())
    .addOption(noSwaponOption())
    .action(async (options) => {
      if (!DEVICE_ID_PATTERN.test(options.id)) {
        console.error(`spirit remote-swap daemon: --id ${options.id} is not 16 hex digits`);
        Deno.exit(2);
      }
      const code = await runSwapDaemon({
        id: options.id,
        root: options.stateDir,
        memserver: parseHostPort(options.memserver),
        tokenFile: options.tokenFile,
        token: await readTokenFile(options.tokenFile),
        engine: options.engine,
        sizeBytes: options.size,
        transport: options.transport,
        priority: options.priority,
        workers: options.workers,
        writeCapBytesPerSec: options.writeCap ?? null,
        retry: DEFAULT_RETRY,
        ioTimeoutMs: 10_000,
        readySocket: options.readySocket,
        swapon: options.swapon,
        ...(options.label === undefined ? {} : { label: options.label }),
      });
      Deno.exit(code);
    });
  return command;
}
