/**
 * `spirit memserver --transport rdma|auto`: the transport decision (RDMA when a device exists)
 * and the RDMA server's run loop: ready line, periodic statistics, clean stop on SIGINT/SIGTERM.
 * @module
 */
import type { Cidr } from "../common/ip_address.ts";
import { listRdmaDevices, type RdmaAvailability } from "../ffi/ibverbs.ts";
import { MemoryPool } from "./pool.ts";
import { type RdmaServerHandle, serveRdma } from "./rdma.ts";

/** The decision for `--transport`: serve RDMA, serve TCP (with a note), or fail. */
export type TransportChoice =
  | { readonly transport: "tcp"; readonly note?: string }
  | { readonly transport: "rdma" }
  | { readonly transport: "error"; readonly message: string; readonly usage: boolean };

/**
 * Decides the transport from the request and RDMA availability. `availability` is injectable
 * for tests; by default the host's devices are listed. A token file is enforced on either
 * transport (over RDMA as a proof in the connect private data).
 */
export function decideTransport(
  requested: string,
  options: { availability?: () => RdmaAvailability } = {},
): TransportChoice {
  if (requested === "tcp") return { transport: "tcp" };
  if (requested !== "rdma" && requested !== "auto") {
    return {
      transport: "error",
      message: `--transport ${requested} is not one of tcp, rdma, auto`,
      usage: true,
    };
  }
  const availability = (options.availability ?? listRdmaDevices)();
  if (availability.available) return { transport: "rdma" };
  if (requested === "auto") {
    return {
      transport: "tcp",
      note: `RDMA unavailable (${availability.reason}); serving over TCP`,
    };
  }
  return {
    transport: "error",
    message: `--transport rdma: ${availability.reason}`,
    usage: false,
  };
}

/** The ready line of the RDMA server (same shape as the TCP server's, transport "rdma"). */
export interface RdmaMemserverReady {
  event: "ready";
  transport: "rdma";
  hostname: string;
  port: number;
  capacityBytes: number;
  pageKind: string;
  pid: number;
  devices: string[];
}

/** Runs the RDMA memory server until SIGINT or SIGTERM. Exits 1 when it cannot listen. */
export async function runRdmaMemserver(options: {
  hostname: string;
  port: number;
  capacityBytes: number;
  jsonStats: boolean;
  statsIntervalMs: number;
  maxConnections: number;
  populate: boolean;
  /** The per-run secret (from --token-file). */
  secret?: Uint8Array;
  /** --rdma-legacy-allow: peers whose legacy requests are admitted despite the secret. */
  legacyAllow: readonly Cidr[];
}): Promise<void> {
  using pool = MemoryPool.reserve(options.capacityBytes, { populate: options.populate });
  let handle: RdmaServerHandle;
  try {
    handle = serveRdma(pool, {
      hostname: options.hostname,
      port: options.port,
      maxClients: options.maxConnections,
      legacyAllow: options.legacyAllow,
      ...(options.secret === undefined ? {} : { secret: options.secret }),
    });
  } catch (error) {
    console.error(
      `spirit memserver: cannot listen for RDMA on ${options.hostname}:${options.port}: ` +
        (error instanceof Error ? error.message : String(error)),
    );
    Deno.exit(1);
  }
  const availability = listRdmaDevices();
  const ready: RdmaMemserverReady = {
    event: "ready",
    transport: "rdma",
    hostname: handle.addr.hostname,
    port: handle.addr.port,
    capacityBytes: pool.capacityBytes,
    pageKind: pool.stats().pageKind,
    pid: Deno.pid,
    devices: availability.available ? availability.devices.map((d) => d.name) : [],
  };
  console.log(JSON.stringify(ready));
  const printStats = () =>
    console.log(JSON.stringify({ event: "stats", pool: pool.stats(), ...handle.stats() }));
  const timer = options.jsonStats ? setInterval(printStats, options.statsIntervalMs) : undefined;
  const stop = () => void handle.close();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  try {
    await handle.finished;
    await handle.close();
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    if (timer !== undefined) clearInterval(timer);
    if (options.jsonStats) printStats();
  }
  console.log(JSON.stringify({ event: "stopped" }));
}
