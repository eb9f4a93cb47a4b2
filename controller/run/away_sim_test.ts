/**
 * What an app that is down holds, through simulated agents: nothing. Its share goes to the other
 * apps of its node while it is down, it gets a share back when it is relaunched (the relaunch is
 * its grow step, after the others shrank), and no node is ever overcommitted on the way.
 */
import assert from "node:assert/strict";
import { readEpochs } from "../results/read.ts";
import type { EpochRecord } from "../results/types.ts";
import type { SimFault } from "../simulate/faults.ts";
import type { AppliedAllocation } from "../simulate/sim_world.ts";
import { simulatePlaybook } from "../simulate/simulate.ts";
import { twoAppPlaybook } from "../../test/fixtures/two_apps.ts";

const CACHE_MIB = 8;
const BANDWIDTH_MBPS = 80;

async function simulate(
  faults: SimFault[],
  policy = "symbiosis",
): Promise<{ records: EpochRecord[]; applied: AppliedAllocation[] }> {
  const output = await Deno.makeTempDir({ prefix: "spirit-away-sim-" });
  try {
    const result = await simulatePlaybook(twoAppPlaybook(output, { policy }), {
      faults,
      seed: 5,
      startWallMs: 0,
    });
    return { records: (await readEpochs(result.runDir)).records, applied: result.world.applied };
  } finally {
    await Deno.remove(output, { recursive: true });
  }
}

const appOf = (record: EpochRecord | undefined, name: string) =>
  record?.apps.find((a) => a.name === name);

/**
 * Every moment's sum of what the agents applied stays within the node; `ended` says when an
 * app's process ended (it holds nothing from then until it is launched again).
 */
function assertNeverOvercommitted(
  applied: readonly AppliedAllocation[],
  ended: { app: string; atMs: number },
): void {
  const held = new Map<string, AppliedAllocation["allocation"]>();
  for (const step of applied) {
    if (step.timeMs >= ended.atMs && !held.has(`${ended.app} ended`)) {
      held.delete(ended.app);
      held.set(`${ended.app} ended`, { cacheBytes: 0, bandwidthBytesPerSec: 0 });
    }
    held.set(step.app, step.allocation);
    const cache = [...held.values()].reduce((sum, a) => sum + a.cacheBytes, 0);
    const bandwidth = [...held.values()].reduce((sum, a) => sum + a.bandwidthBytesPerSec, 0);
    assert.ok(cache <= CACHE_MIB * 2 ** 20, `cache at ${step.timeMs} ms: ${cache}`);
    assert.ok(bandwidth <= BANDWIDTH_MBPS * 125_000, `bandwidth at ${step.timeMs} ms`);
  }
}

Deno.test("an app that exits by itself hands its share to the other apps of its node", async () => {
  const { records, applied } = await simulate([{ kind: "app-exit", app: "scan", atMs: 10_100 }]);
  const after = records.filter((r) => r.epoch >= 11);
  assert.ok(after.length >= 8);
  for (const record of after) {
    assert.deepEqual(
      [appOf(record, "scan")?.cacheMiB, appOf(record, "scan")?.bandwidthMbps],
      [0, 0],
      `epoch ${record.epoch}: scan holds nothing`,
    );
    assert.match(appOf(record, "scan")?.down ?? "", /exited by itself/);
  }
  // kv took it over: the node is fully allocated again.
  const last = records.at(-1);
  assert.equal(appOf(last, "kv")?.cacheMiB, CACHE_MIB);
  assert.equal(appOf(last, "kv")?.bandwidthMbps, BANDWIDTH_MBPS);
  assert.deepEqual(last?.nodes[0]?.allocated, { cacheMiB: CACHE_MIB, bandwidthMbps: 80 });
  assertNeverOvercommitted(applied, { app: "scan", atMs: 10_100 });
});

Deno.test("a relaunched app gets its share back, relaunched only once the others shrank", async () => {
  // The first relaunches fail, so the app is down for a while and kv takes its share.
  const { records, applied } = await simulate([
    { kind: "app-crash", app: "scan", atMs: 8100 },
    { kind: "launch-fails", app: "scan", fromMs: 8000, untilMs: 10_500 },
  ]);
  // kv values the cache, scan (a stream) only bandwidth: scan's share is half the bandwidth.
  const before = appOf(records.find((r) => r.epoch === 7), "scan");
  assert.equal(before?.bandwidthMbps, BANDWIDTH_MBPS / 2);
  const away = records.find((r) => r.epoch === 9);
  assert.equal(appOf(away, "scan")?.bandwidthMbps, 0);
  assert.equal(appOf(away, "kv")?.bandwidthMbps, BANDWIDTH_MBPS, "kv had the whole node");
  // Relaunched at 11 s (the 3rd attempt) at its share back, once kv had shrunk to make room.
  const relaunch = applied.find((a) => a.app === "scan" && a.timeMs > 8100);
  assert.equal(relaunch?.timeMs, 11_000);
  assert.equal(relaunch?.allocation.bandwidthBytesPerSec, (BANDWIDTH_MBPS / 2) * 125_000);
  const shrink = applied.find((a) => a.app === "kv" && a.timeMs >= 10_000);
  assert.ok(shrink !== undefined && shrink.allocation.bandwidthBytesPerSec <= 40 * 125_000);
  const back = appOf(records.at(-1), "scan");
  assert.equal(back?.down, undefined);
  assert.equal(back?.bandwidthMbps, BANDWIDTH_MBPS / 2);
  assert.ok((back?.opsPerSec ?? 0) > 0);
  assertNeverOvercommitted(applied, { app: "scan", atMs: 8100 });
});

Deno.test("under static, a down app's share stays idle and it gets the same share back", async () => {
  const { records, applied } = await simulate(
    [{ kind: "app-crash", app: "scan", atMs: 8100 }, {
      kind: "launch-fails",
      app: "scan",
      fromMs: 8000,
      untilMs: 10_500,
    }],
    "static",
  );
  assert.equal(appOf(records.find((r) => r.epoch === 9), "kv")?.cacheMiB, CACHE_MIB / 2);
  assert.equal(appOf(records.at(-1), "scan")?.cacheMiB, CACHE_MIB / 2);
  assertNeverOvercommitted(applied, { app: "scan", atMs: 8100 });
});
