/**
 * System tests of the swap prober's two modes (root, cgroup v1 memory, a loop-device swap):
 * "reclaim" reads back under its cgroup limit, "pure" lifts the limit for its reads and puts
 * it back in between, so `spirit bench remote-swap` can tell swap-in under reclaim from pure
 * swap-in.
 */
import assert from "node:assert/strict";
import { runSwapProber } from "../controller/remote_swap_bench.ts";
import {
  buildProber,
  proberArgv,
  type ProberMode,
  type ProberReport,
} from "../remote_swap/bench/prober.ts";
import { systemTest } from "./prereq.ts";
import { AGENT_SYSTEM_REQUIRES } from "./fixtures/agent_harness.ts";
import { LoopSwap } from "./fixtures/loop_swap.ts";

const MiB = 2 ** 20;
const SIZE_MIB = 64;
const CACHE_MIB = 16;

async function probe(device: string, mode: ProberMode): Promise<ProberReport> {
  const prober = await buildProber();
  try {
    const argv = proberArgv(prober, { sizeMiB: SIZE_MIB, randomPages: 500, seed: 3, mode });
    return await runSwapProber(device, { proberArgv: argv, cacheMiB: CACHE_MIB });
  } finally {
    await prober.remove();
  }
}

systemTest(
  "the swap prober in mode reclaim reads back under its limit: pages are swapped out meanwhile",
  AGENT_SYSTEM_REQUIRES,
  async () => {
    await using swap = await LoopSwap.create(4 * SIZE_MIB * MiB);
    const report = await probe(swap.device, "reclaim");
    assert.equal(report.mode, "reclaim");
    assert.equal(report.badPages, 0);
    assert.ok(report.seqSwappedPages > report.pages / 2, JSON.stringify(report));
    assert.ok(report.seqResidentPagesAfter < report.pages / 2, JSON.stringify(report));
    assert.equal(report.touchUs, 0);
  },
);

systemTest(
  "the swap prober in mode pure lifts its limit for the reads and pushes pages out in between",
  AGENT_SYSTEM_REQUIRES,
  async () => {
    await using swap = await LoopSwap.create(4 * SIZE_MIB * MiB);
    const report = await probe(swap.device, "pure");
    assert.equal(report.mode, "pure");
    assert.equal(report.badPages, 0);
    // Swapped out under the limit before seq, all resident after it: nothing was reclaimed.
    assert.ok(report.seqSwappedPages > report.pages / 2, JSON.stringify(report));
    assert.equal(report.seqResidentPagesAfter, report.pages);
    // The limit put back before random pushed most pages out again.
    assert.ok(report.randomSwappedPages > report.pages / 2, JSON.stringify(report));
    assert.ok(report.randomFaults > 0, JSON.stringify(report));
    // Then the zero-fill fault phase ran.
    assert.ok(report.touchUs > 0, JSON.stringify(report));
  },
);
