/**
 * Failed enforcement, end to end through simulated agents: the failure is an event, the epoch
 * record shows what was in force and what was requested, the step is retried, and no node is
 * ever overcommitted, neither in the records nor in what the agents actually applied.
 */
import assert from "node:assert/strict";
import { readEpochs } from "../results/read.ts";
import { parseEvents } from "../results/read.ts";
import { simulatePlaybook } from "../simulate/simulate.ts";
import { twoAppPlaybook } from "../../test/fixtures/two_apps.ts";

const CACHE_BYTES = 8 * 2 ** 20;
const BANDWIDTH_BYTES_PER_SEC = 80 * 125_000;

async function runWithFailingShrink() {
  const output = await Deno.makeTempDir({ prefix: "spirit-enforcement-sim-" });
  try {
    const playbook = twoAppPlaybook(output, { duration: "12s" });
    // After warm-up the market moves scan's cache to kv at 4 s: that shrink fails until 7 s.
    const result = await simulatePlaybook(playbook, {
      seed: 3,
      startWallMs: 0,
      faults: [{ kind: "enforcement-fails", app: "scan", fromMs: 4000, untilMs: 7000 }],
    });
    return {
      world: result.world,
      records: (await readEpochs(result.runDir)).records,
      events: parseEvents(await Deno.readTextFile(`${result.runDir}/events.jsonl`)),
    };
  } finally {
    await Deno.remove(output, { recursive: true });
  }
}

Deno.test("a failed enforcement is an event, recorded as not applied, and retried", async () => {
  const { records, events, world } = await runWithFailingShrink();
  const faults = events.filter((e) => e.kind === "fault");
  assert.deepEqual(
    faults.map((e) => [e.app, e.time]),
    [4000, 5000, 6000].map((ms) => [
      "scan",
      new Date(ms).toISOString(),
    ]),
  );
  assert.ok(faults.every((e) => /allocation not applied \(retried next epoch\)/.test(e.message)));
  const [kvBefore, scanBefore] = records.find((r) => r.epoch === 3)?.apps ?? [];
  assert.ok(kvBefore !== undefined && scanBefore !== undefined);
  for (const epoch of [4, 5, 6]) {
    const [kv, scan] = records.find((r) => r.epoch === epoch)?.apps ?? [];
    assert.equal(scan?.cacheMiB, scanBefore.cacheMiB, `epoch ${epoch}: scan still holds its cache`);
    assert.ok(scan?.requested !== undefined && scan.requested.cacheMiB < scanBefore.cacheMiB);
    assert.match(scan?.notApplied ?? "", /failed: .*injected fault/);
    // kv's grow waits (it gets at most the few bytes the probes' rounding left free).
    assert.ok(Math.abs((kv?.cacheMiB ?? 0) - kvBefore.cacheMiB) < 1e-3, `epoch ${epoch}: kv`);
    assert.match(kv?.notApplied ?? "", /waiting for capacity/);
  }
  const retried = world.applied.find((a) => a.app === "scan" && a.timeMs === 7000);
  assert.ok(
    retried !== undefined && retried.allocation.cacheBytes < scanBefore.cacheMiB * 2 ** 20,
    "retried at 7 s",
  );
  assert.ok(records.filter((r) => r.epoch >= 7).every((r) => r.apps.every((a) => !a.notApplied)));
});

Deno.test("no node is overcommitted by what the agents applied, even while a shrink fails", async () => {
  const { records, world } = await runWithFailingShrink();
  const inForce = new Map<string, { cacheBytes: number; bandwidthBytesPerSec: number }>();
  for (const applied of world.applied) {
    inForce.set(applied.app, applied.allocation);
    const total = [...inForce.values()].reduce(
      (sum, a) => ({
        cacheBytes: sum.cacheBytes + a.cacheBytes,
        bandwidthBytesPerSec: sum.bandwidthBytesPerSec + a.bandwidthBytesPerSec,
      }),
      { cacheBytes: 0, bandwidthBytesPerSec: 0 },
    );
    assert.ok(total.cacheBytes <= CACHE_BYTES, `cache at ${applied.timeMs} ms`);
    assert.ok(
      total.bandwidthBytesPerSec <= BANDWIDTH_BYTES_PER_SEC,
      `bandwidth at ${applied.timeMs}`,
    );
  }
  for (const record of records) {
    const node = record.nodes[0];
    assert.ok(node?.allocated !== undefined);
    assert.ok(node.allocated.cacheMiB <= node.cacheMiB + 1e-9, `epoch ${record.epoch}`);
    assert.ok(node.allocated.bandwidthMbps <= node.bandwidthMbps + 1e-9, `epoch ${record.epoch}`);
  }
});
