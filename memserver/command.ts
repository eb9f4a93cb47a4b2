/**
 * `spirit memserver`: reserves the pool, serves it, prints one ready line (JSON) on stdout, and
 * optionally periodic statistics lines; shuts down cleanly on SIGINT/SIGTERM.
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { type Cidr, parseCidr } from "../common/ip_address.ts";
import { readTokenFile } from "../common/token_file.ts";
import { parseDurationMs, parseSizeBytes } from "../common/units.ts";
import { parseHostPort } from "./client/transport.ts";
import { MemoryPool } from "./pool.ts";
import { MemoryServer } from "./server.ts";
import { serveTcp, type TcpServerHandle } from "./tcp.ts";
import { decideTransport, runRdmaMemserver } from "./rdma_run.ts";

/** The first line `spirit memserver` prints on stdout once it accepts connections. */
export interface MemserverReady {
  event: "ready";
  transport: "tcp";
  hostname: string;
  port: number;
  capacityBytes: number;
  pageKind: string;
  pid: number;
  /** Why a requested transport was not used (for `--transport auto`). */
  note?: string;
}

function usage(message: string): never {
  console.error(`spirit memserver: ${message}`);
  Deno.exit(2);
}

/**
 * Chooses the transport: `rdma` needs an RDMA device (else exit 1 with the reason); `auto`
 * serves RDMA when a device exists, else TCP with a note. See memserver/rdma_run.ts.
 */
function chooseTransport(
  requested: string,
): { transport: "tcp"; note?: string } | { transport: "rdma" } {
  const choice = decideTransport(requested);
  if (choice.transport !== "error") return choice;
  if (choice.usage) return usage(choice.message);
  console.error(`spirit memserver: ${choice.message}`);
  Deno.exit(1);
}

/** Parses `--rdma-legacy-allow` (comma-separated CIDR blocks); throws naming the bad block. */
export function parseLegacyAllow(text: string): Cidr[] {
  return text.split(",").map((part) => part.trim()).filter((part) => part !== "").map((part) =>
    parseCidr(part)
  );
}

/** Builds `spirit memserver`. */
export function memserverCommand() {
  return new Command("memserver")
    .description("Serve a pool of memory to far-memory clients")
    .requiredOption("--listen <host:port>", "address to bind (port 0 picks a free port)")
    .requiredOption("--capacity <size>", "memory to reserve, e.g. 4GiB")
    .option("--token-file <path>", "file holding the shared secret clients must present")
    .addOption(
      new Option("--transport <kind>", "transport to serve").choices(["tcp", "rdma", "auto"])
        .default(
          "tcp",
        ),
    )
    .option("--json-stats", "print a JSON statistics line on stdout periodically and at exit")
    .option("--stats-interval <duration>", "period of --json-stats lines", "5s")
    .option("--max-connections <n>", "connections beyond this are refused", "128")
    .option("--populate", "commit the whole pool at start (MAP_POPULATE)")
    .option(
      "--rdma-legacy-allow <cidrs>",
      "RDMA with --token-file: admit legacy clients (the {addr, rkey, size} record, no proof) " +
        "from these comma-separated CIDR blocks, e.g. 10.0.0.0/24,fd00::/64",
    )
    .option(
      "--swap-grace <duration>",
      "how long a swap region without connections waits for its client to reconnect",
      "60s",
    )
    .action(async (options) => {
      let address: { hostname: string; port: number };
      let capacityBytes: number;
      let statsIntervalMs: number;
      let swapGraceMs: number;
      try {
        address = parseHostPort(options.listen);
        capacityBytes = parseSizeBytes(options.capacity);
        statsIntervalMs = parseDurationMs(options.statsInterval);
        swapGraceMs = parseDurationMs(options.swapGrace);
      } catch (error) {
        return usage(error instanceof Error ? error.message : String(error));
      }
      let legacyAllow: Cidr[];
      try {
        legacyAllow = parseLegacyAllow(options.rdmaLegacyAllow ?? "");
      } catch (error) {
        return usage(
          `--rdma-legacy-allow: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      const maxConnections = Number(options.maxConnections);
      if (!Number.isInteger(maxConnections) || maxConnections < 1) {
        return usage(`--max-connections ${options.maxConnections} must be a positive integer`);
      }
      if (capacityBytes < 4096) usage(`--capacity ${options.capacity} must be at least 4KiB`);
      const chosen = chooseTransport(options.transport);
      const token = options.tokenFile === undefined
        ? undefined
        : await readTokenFile(options.tokenFile);
      if (token === undefined && !isLoopback(address.hostname)) {
        console.error("spirit memserver: warning: no --token-file; any client can connect");
      }
      if (legacyAllow.length > 0 && (token === undefined || chosen.transport !== "rdma")) {
        console.error(
          "spirit memserver: note: --rdma-legacy-allow has no effect " +
            (token === undefined
              ? "without --token-file (every RDMA client is admitted)"
              : "when serving TCP"),
        );
      }
      if (chosen.transport === "rdma") {
        return await runRdmaMemserver({
          ...address,
          capacityBytes,
          jsonStats: options.jsonStats === true,
          statsIntervalMs,
          maxConnections,
          populate: options.populate === true,
          legacyAllow,
          ...(token === undefined ? {} : { secret: token }),
        });
      }
      await runMemserver({
        ...address,
        capacityBytes,
        ...(token === undefined ? {} : { token }),
        ...(chosen.note === undefined ? {} : { note: chosen.note }),
        jsonStats: options.jsonStats === true,
        statsIntervalMs,
        maxConnections,
        populate: options.populate === true,
        swapGraceMs,
      });
    });
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname.startsWith("127.") || hostname === "::1";
}

/** Runs the server until SIGINT or SIGTERM. */
export async function runMemserver(options: {
  hostname: string;
  port: number;
  capacityBytes: number;
  token?: Uint8Array;
  note?: string;
  jsonStats: boolean;
  statsIntervalMs: number;
  maxConnections: number;
  populate: boolean;
  /** How long a detached swap region is kept (default 60 s). */
  swapGraceMs?: number;
}): Promise<void> {
  using pool = MemoryPool.reserve(options.capacityBytes, { populate: options.populate });
  const server = new MemoryServer(pool, {
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.swapGraceMs === undefined ? {} : { swapGraceMs: options.swapGraceMs }),
  });
  let handle: TcpServerHandle;
  try {
    handle = serveTcp(server, {
      hostname: options.hostname,
      port: options.port,
      maxConnections: options.maxConnections,
    });
  } catch (error) {
    console.error(
      `spirit memserver: cannot listen on ${options.hostname}:${options.port}: ${error}`,
    );
    Deno.exit(1);
  }
  const ready: MemserverReady = {
    event: "ready",
    transport: "tcp",
    hostname: handle.addr.hostname,
    port: handle.addr.port,
    capacityBytes: pool.capacityBytes,
    pageKind: pool.stats().pageKind,
    pid: Deno.pid,
    ...(options.note === undefined ? {} : { note: options.note }),
  };
  console.log(JSON.stringify(ready));
  const printStats = () => console.log(JSON.stringify({ event: "stats", ...server.stats() }));
  const timer = options.jsonStats ? setInterval(printStats, options.statsIntervalMs) : undefined;
  // Detached swap regions past their grace period are freed once a second.
  const sweeper = setInterval(() => server.sweepSwap(), 1000);
  const stop = () => void handle.close();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  try {
    await handle.finished;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    clearInterval(sweeper);
    if (timer !== undefined) clearInterval(timer);
    if (options.jsonStats) printStats();
    server.close();
  }
  console.log(JSON.stringify({ event: "stopped" }));
}
