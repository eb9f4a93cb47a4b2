/**
 * `spirit bench ffi`: nanoseconds per call of the two ways to call a C function pointer from
 * Deno (libffi's `ffi_call` as a fast dlopen'ed call, and `Deno.UnsafeFnPointer`), first on
 * libc's `memcmp` (same shape as ibv_post_send: three pointer-sized arguments, int result), then
 * on the ops table of an RDMA device (`poll_cq` on an empty CQ, `req_notify_cq`) when one is
 * available (set SPIRIT_LIBIBVERBS to the fake_rdma test double to run that part without a NIC).
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { CompletionQueue, DeviceContext, listRdmaDevices } from "./ibverbs.ts";
import { type BoundCall, loadLibffi } from "./libffi.ts";
import { libc as loadLibc } from "./libc.ts";
import { bindCall, type CallPath, opsFunction } from "./verbs_ops.ts";
import { LAYOUTS } from "./verbs_structs.ts";

/** One measured figure. */
export interface FfiBenchRow {
  readonly target: string;
  readonly path: CallPath | "direct";
  readonly nsPerCall: number;
}

function nsPerCall(call: () => number, iterations: number): number {
  for (let i = 0; i < Math.min(iterations, 50_000); i++) call(); // warm up (JIT, fast calls)
  const start = performance.now();
  for (let i = 0; i < iterations; i++) call();
  return ((performance.now() - start) * 1e6) / iterations;
}

/** Runs the measurements and returns one row per target and path. */
export function runFfiBench(options: { iterations: number }): FfiBenchRow[] {
  const { iterations } = options;
  const rows: FfiBenchRow[] = [];
  const paths: CallPath[] = ["libffi", "fnpointer"];
  let libffiOk = true;
  try {
    loadLibffi();
  } catch (error) {
    libffiOk = false;
    console.error(`libffi unavailable, measuring fnpointer only: ${String(error)}`);
  }
  const usable = paths.filter((p) => p !== "libffi" || libffiOk);
  const libc = loadLibc().symbols;
  const buffer = new Uint8Array(16);
  const p = Deno.UnsafePointer.of(buffer);
  const memcmp = libc.dlsym(null, new TextEncoder().encode("memcmp\0"));
  if (memcmp === null) throw new Error("dlsym(memcmp) returned NULL");
  rows.push({
    target: "libc memcmp(p, p, 0)",
    path: "direct",
    nsPerCall: nsPerCall(() => libc.memcmp(p, p, 0n), iterations),
  });
  for (const path of usable) {
    const bound = bindCall(memcmp, [
      { type: "pointer", value: p },
      { type: "pointer", value: p },
      { type: "pointer", value: null },
    ], path);
    rows.push({
      target: "libc memcmp(p, p, 0)",
      path,
      nsPerCall: nsPerCall(() => bound.call(), iterations),
    });
  }
  const availability = listRdmaDevices();
  if (!availability.available) {
    console.error(`skipping the ops-table rows: ${availability.reason}`);
    return rows;
  }
  using device = DeviceContext.open();
  using cq = new CompletionQueue(device.pointer, { entries: 16 });
  const wcs = new Uint8Array(16 * LAYOUTS.ibv_wc.size);
  for (const path of usable) {
    const poll: BoundCall = bindCall(opsFunction(device.pointer, "poll_cq"), [
      { type: "pointer", value: cq.pointer },
      { type: "i32", value: 16 },
      { type: "pointer", value: Deno.UnsafePointer.of(wcs) },
    ], path);
    rows.push({
      target: `${device.name} ops.poll_cq (empty CQ)`,
      path,
      nsPerCall: nsPerCall(() => poll.call(), iterations),
    });
    const notify = bindCall(opsFunction(device.pointer, "req_notify_cq"), [
      { type: "pointer", value: cq.pointer },
      { type: "i32", value: 0 },
    ], path);
    rows.push({
      target: `${device.name} ops.req_notify_cq`,
      path,
      nsPerCall: nsPerCall(() => notify.call(), iterations),
    });
  }
  return rows;
}

/** Builds `spirit bench ffi`. */
export function ffiBenchCommand() {
  return new Command("ffi")
    .description("ns per call: libffi ffi_call vs Deno.UnsafeFnPointer (and the verbs ops table)")
    .option("--iterations <n>", "calls per measurement", "300000")
    .option("--json", "print the rows as JSON")
    .action((options) => {
      const iterations = Number(options.iterations);
      if (!Number.isInteger(iterations) || iterations < 1) {
        console.error(
          `spirit bench ffi: --iterations ${options.iterations} must be a positive integer`,
        );
        Deno.exit(2);
      }
      const rows = runFfiBench({ iterations });
      if (options.json) {
        console.log(JSON.stringify(rows));
        return;
      }
      console.log(`${"target".padEnd(44)} ${"path".padEnd(10)} ns/call`);
      for (const row of rows) {
        console.log(
          `${row.target.padEnd(44)} ${row.path.padEnd(10)} ${row.nsPerCall.toFixed(1).padStart(7)}`,
        );
      }
    });
}
