/**
 * `spirit bench <target>`: benchmarks that print figures. Each target's body lives with its
 * subject; this file only gathers them.
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { auctionBenchCommand } from "./allocate/auction_bench.ts";
import { ffiBenchCommand } from "../ffi/bench_ffi.ts";
import { rdmaBenchCommand } from "../memserver/rdma_bench.ts";
import { memserverBenchCommand } from "../workloads/bench.ts";
import { controllerBenchCommand } from "./run/bench.ts";
import { demoBenchCommand } from "./run/demo_bench.ts";
import { remoteSwapBenchCommand } from "./remote_swap_bench.ts";
import { realAppsBenchCommand } from "./run/real_apps_bench.ts";

/** Builds `spirit bench` with one subcommand per benchmark target. */
export function benchCommand() {
  const targets = [
    auctionBenchCommand(),
    ffiBenchCommand(),
    rdmaBenchCommand(),
    memserverBenchCommand(),
    controllerBenchCommand(),
    demoBenchCommand(),
    remoteSwapBenchCommand(),
    realAppsBenchCommand(),
  ];
  const bench = new Command("bench").description(
    "Run a benchmark and print its figures (targets: " + targets.map((t) => t.name()).join(", ") +
      ", all)",
  );
  for (const target of targets) bench.addCommand(target);
  bench.command("all").description("Run every benchmark target in turn").action(async () => {
    for (const target of targets) {
      console.log(`# spirit bench ${target.name()}`);
      await target.parseAsync([], { from: "user" });
    }
  });
  return bench;
}
