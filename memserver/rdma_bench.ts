/**
 * `spirit bench rdma`: an RDMA memory server and client in one process over the local device
 * (loopback through the NIC), measuring page WRITE and READ latency and throughput at several
 * batch sizes. A first check on a new cluster; here it runs over the fake_rdma test double
 * (SPIRIT_LIBIBVERBS/SPIRIT_LIBRDMACM), whose figures say nothing about a NIC.
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { listRdmaDevices } from "../ffi/ibverbs.ts";
import { connectRdma } from "./client/rdma_transport.ts";
import { MemoryPool } from "./pool.ts";
import { serveRdma } from "./rdma.ts";

/** One measured figure. */
export interface RdmaBenchRow {
  readonly op: "write" | "read";
  readonly batchPages: number;
  readonly pages: number;
  readonly microsPerBatch: number;
  readonly pagesPerSec: number;
  readonly bytesPerSec: number;
}

/** Runs the loopback measurement; throws when the device or CM refuses. */
export async function runRdmaBench(options: {
  hostname: string;
  pages: number;
  pageBytes: number;
  batches: readonly number[];
}): Promise<RdmaBenchRow[]> {
  const regionBytes = 32 * 1024 * 1024;
  using pool = MemoryPool.reserve(regionBytes + 2 * 1024 * 1024);
  const server = serveRdma(pool, {
    hostname: options.hostname,
    port: 0,
    maxClients: 1,
    log: () => {},
  });
  const transport = await connectRdma({ hostname: options.hostname, port: server.addr.port });
  try {
    const region = await transport.allocate(regionBytes);
    const slots = Math.floor(regionBytes / options.pageBytes);
    const rows: RdmaBenchRow[] = [];
    for (const batch of options.batches) {
      const buffers = Array.from({ length: batch }, () => new Uint8Array(options.pageBytes));
      for (const op of ["write", "read"] as const) {
        let next = 0;
        const offsets = () => buffers.map(() => ((next++ * 7919) % slots) * options.pageBytes);
        const rounds = Math.max(1, Math.floor(options.pages / batch));
        for (let i = 0; i < Math.min(rounds, 100); i++) {
          await (op === "write"
            ? transport.writePages(region, offsets(), buffers)
            : transport.readPages(region, offsets(), buffers));
        }
        const start = performance.now();
        for (let i = 0; i < rounds; i++) {
          await (op === "write"
            ? transport.writePages(region, offsets(), buffers)
            : transport.readPages(region, offsets(), buffers));
        }
        const seconds = (performance.now() - start) / 1000;
        const pages = rounds * batch;
        rows.push({
          op,
          batchPages: batch,
          pages,
          microsPerBatch: (seconds * 1e6) / rounds,
          pagesPerSec: pages / seconds,
          bytesPerSec: (pages * options.pageBytes) / seconds,
        });
      }
    }
    return rows;
  } finally {
    await transport.close();
    await server.close();
  }
}

/** Builds `spirit bench rdma`. */
export function rdmaBenchCommand() {
  return new Command("rdma")
    .description("RDMA page READ/WRITE latency and throughput, server and client in one process")
    .option("--listen <ip>", "IP literal of the RDMA interface to loop through", "127.0.0.1")
    .option("--pages <n>", "pages per measurement", "20000")
    .option("--page-bytes <n>", "bytes per page", "4096")
    .option("--batches <list>", "batch sizes in pages, comma-separated", "1,16,64")
    .option("--json", "print the rows as JSON")
    .action(async (options) => {
      const pages = Number(options.pages);
      const pageBytes = Number(options.pageBytes);
      const batches = options.batches.split(",").map(Number);
      const bad = [pages, pageBytes, ...batches].some((n) => !Number.isInteger(n) || n < 1);
      if (bad || batches.some((b) => b > 128) || pageBytes > 1 << 20) {
        console.error(
          "spirit bench rdma: --pages, --page-bytes (at most 1048576) and --batches (1..128) " +
            "must be positive integers",
        );
        Deno.exit(2);
      }
      const availability = listRdmaDevices();
      if (!availability.available) {
        console.log(`skipped: ${availability.reason}`);
        return;
      }
      const device = availability.devices.map((d) => d.name).join(", ");
      const rows = await runRdmaBench({ hostname: options.listen, pages, pageBytes, batches });
      if (options.json) {
        console.log(JSON.stringify({ devices: device, rows }));
        return;
      }
      console.log(`device ${device}, ${pageBytes}-byte pages, loopback via ${options.listen}`);
      console.log("op     batch  us/batch   pages/s      MB/s");
      for (const r of rows) {
        console.log(
          `${r.op.padEnd(6)} ${String(r.batchPages).padStart(5)} ` +
            `${r.microsPerBatch.toFixed(1).padStart(9)} ${r.pagesPerSec.toFixed(0).padStart(9)} ` +
            `${(r.bytesPerSec / 1e6).toFixed(1).padStart(9)}`,
        );
      }
    });
}
