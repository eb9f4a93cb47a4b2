/**
 * The commands every host runs, and the entry point of the bundle `spirit run` deploys to hosts
 * reached over SSH: `agent` (session, daemon, facts), `memserver`, `workload`, `exec`,
 * `loadgen` and `remote-swap` (host/program.ts). It imports no controller code, so the bundle carries neither the
 * market, the report nor vega. Modules load on demand: `agent facts` loads only the facts code,
 * so it costs little more than starting Deno (the bundle evaluates a module imported with
 * `import()` only when it is imported).
 * @module
 */

import { installSwapWorker, inWorkerScope } from "../remote_swap/worker_entry.ts";

if (import.meta.main && inWorkerScope()) {
  // The deployed bundle starts itself as the swap daemon's I/O workers (remote_swap/workers.ts):
  // the handler of the first message is installed at once, the I/O code loads with it.
  installSwapWorker();
} else if (import.meta.main) {
  if (Deno.args.length === 2 && Deno.args[0] === "agent" && Deno.args[1] === "facts") {
    const { gatherFacts } = await import("../agent/facts.ts");
    console.log(JSON.stringify(await gatherFacts()));
  } else {
    const { buildHostProgram } = await import("./program.ts");
    await buildHostProgram().parseAsync(Deno.args, { from: "user" });
  }
}
