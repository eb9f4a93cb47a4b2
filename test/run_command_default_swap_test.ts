/**
 * Regression test (issue 10): a `command` app run through `spirit run` WITHOUT naming a swap
 * device is throttled and measured on the node's default swap devices. Root, cgroup v1, a
 * loop-device swap of its own (test/fixtures/loop_swap.ts), gcc for the memory toucher.
 */
import assert from "node:assert/strict";
import { validatePlaybook } from "../controller/playbook/validate.ts";
import { readEpochs } from "../controller/results/read.ts";
import { runPlaybook } from "../controller/run/run.ts";
import { AGENT_SYSTEM_REQUIRES } from "./fixtures/agent_harness.ts";
import { LoopSwap } from "./fixtures/loop_swap.ts";
import { buildMemToucher } from "./fixtures/mem_toucher.ts";
import { systemTest } from "./prereq.ts";

const BANDWIDTH_MBPS = 128; // 16 MB/s
/**
 * Swap-in rate above the allocation tolerated: per epoch (the epoch record's rate is that of the
 * last 1 s sample, where blk-throttle's slices show), and on average over the measured epochs.
 */
const EPOCH_TOLERANCE = 0.25;
const MEAN_TOLERANCE = 0.1;

systemTest(
  "spirit run throttles and measures a command app that names no swap device",
  AGENT_SYSTEM_REQUIRES,
  async () => {
    await using _swap = await LoopSwap.create(512 * 2 ** 20);
    const toucher = await buildMemToucher();
    const output = await Deno.makeTempDir({ prefix: "spirit-default-swap-run-" });
    try {
      const playbook = validatePlaybook({
        name: "default-swap",
        hosts: {
          mem: { role: "memory", memserver: { capacity: "64MiB", transport: "tcp", port: 0 } },
          node: {
            role: "compute",
            memoryNode: "mem",
            cache: "32MiB",
            bandwidth: `${BANDWIDTH_MBPS}Mbps`,
          },
        },
        apps: [{
          name: "toucher",
          host: "node",
          // 96 MiB scanned forever under a 32 MiB cache: it swaps as fast as it is allowed to.
          command: {
            argv: [toucher.path, "96", "1000000000"],
            throughput: { kind: "log", pattern: "^touched (\\d+)$" },
          },
        }],
        policy: "static",
        epoch: "2s",
        warmup: "4s",
        duration: "14s",
        output,
      });
      const result = await runPlaybook(playbook, { output: "quiet" });
      assert.ok(result.runDir !== null);
      const measured = (await readEpochs(result.runDir)).records.filter((r) =>
        r.phase === "measure"
      );
      assert.ok(measured.length >= 3, `${measured.length} measured epochs`);
      const rates: number[] = [];
      for (const record of measured) {
        const app = record.apps[0];
        assert.ok(app !== undefined);
        assert.deepEqual(app.enforced, { cache: true, bandwidth: true }, `epoch ${record.epoch}`);
        assert.equal(app.bandwidthMbps, BANDWIDTH_MBPS);
        assert.ok(app.used.remoteReadMbps > 0, `no swap-in recorded in epoch ${record.epoch}`);
        assert.ok(
          app.used.remoteReadMbps <= BANDWIDTH_MBPS * (1 + EPOCH_TOLERANCE),
          `swap-in ${app.used.remoteReadMbps} Mbps over ${BANDWIDTH_MBPS} Mbps in epoch ${record.epoch}`,
        );
        rates.push(app.used.remoteReadMbps);
      }
      // Pressing against the limit, not idling under it: the throttle is what bounds it.
      const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
      assert.ok(mean <= BANDWIDTH_MBPS * (1 + MEAN_TOLERANCE), `mean swap-in ${mean} Mbps`);
      assert.ok(mean >= BANDWIDTH_MBPS * 0.6, `mean swap-in ${mean} Mbps`);
      console.log(
        `swap-in per epoch (Mbps, limit ${BANDWIDTH_MBPS}): ${rates.map((r) => r.toFixed(1))}`,
      );
    } finally {
      await toucher.remove();
      await Deno.remove(output, { recursive: true });
    }
  },
);
