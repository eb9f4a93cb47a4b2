import assert from "node:assert/strict";
import type { AppSample } from "../../agent/protocol.ts";
import { BYTES_PER_MIB, BYTES_PER_SEC_PER_MBPS } from "../../common/units.ts";
import { buildModel } from "../auction/model.ts";
import { bundleOfBytes } from "../auction/units.ts";
import { validatePlaybook } from "../playbook/validate.ts";
import { appSample } from "../../test/fixtures/app_sample.ts";
import type { EpochRecord } from "../results/types.ts";
import { AllocationState } from "./allocation_state.ts";
import { Decider, MIN_BANDWIDTH_SHARE } from "./decide.ts";
import { enforceNode } from "./enforce.ts";
import { agentEnforcer } from "./_agent_enforcer.ts";
import { epochRecord } from "./epoch_record.ts";
import { fillMiBPerMbps } from "./fill_reach.ts";
import { planRun } from "./plan.ts";

const playbook = (policy: string, bandwidth = "800Mbps") =>
  validatePlaybook({
    name: "loop-test",
    hosts: {
      mem: { role: "memory", memserver: { capacity: "1GiB", port: 0 } },
      node: { role: "compute", memoryNode: "mem", cache: "256MiB", bandwidth },
    },
    apps: [
      { name: "kv", host: "node", workload: { kind: "kv", dataset: "256MiB" } },
      { name: "scan", host: "node", workload: { kind: "stream", dataset: "256MiB" } },
    ],
    policy,
    epoch: "5s",
    warmup: "15s",
    duration: "2m",
  });

interface Truth {
  curve: Array<[number, number]>;
  max: number;
  latency: number;
}

// Ground truth the fake agent reports: a latency-sensitive kv and a bandwidth-bound scan.
const truth: Record<"kv" | "scan", Truth> = {
  kv: {
    curve: [[16, 0.9], [128, 0.4], [256, 0.1]] as Array<[number, number]>,
    max: 40_000,
    latency: 30,
  },
  scan: { curve: [[16, 1], [256, 1]] as Array<[number, number]>, max: 1e9, latency: 0 },
};

function samplesFor(
  app: "kv" | "scan",
  cacheMiB: number,
  bandwidthMbps: number,
  options: { epoch: number; truths?: Partial<Record<"kv" | "scan", Truth>> },
): AppSample[] {
  const { epoch } = options;
  const t = options.truths?.[app] ?? truth[app];
  const model = buildModel({
    kind: "mrc",
    missRatio: t.curve,
    maxOpsPerSec: t.max,
    latencyRatio: t.latency,
  });
  const ops = model.opsPerSec(cacheMiB, bandwidthMbps);
  const miss = t.curve.length > 0 ? Math.max(1e-6, interpolateCurve(t.curve, cacheMiB)) : 1;
  const bytesPerSec = ops * miss * 4096;
  return [0, 1, 2, 3, 4].map((k) => {
    const seconds = epoch * 5 + k;
    return appSample({
      seq: epoch * 10 + k,
      appId: app,
      timeMs: seconds * 1000,
      elapsedMs: seconds * 1000,
      allocation: {
        cacheBytes: cacheMiB * BYTES_PER_MIB,
        bandwidthBytesPerSec: bandwidthMbps * BYTES_PER_SEC_PER_MBPS,
      },
      opsTotal: ops * seconds,
      opsPerSec: ops,
      residentBytes: cacheMiB * BYTES_PER_MIB,
      swapInBytes: bytesPerSec * seconds,
      swapInBytesPerSec: bytesPerSec,
      mrc: {
        available: true,
        source: "farmem",
        points: t.curve.map(([c, m]) => [c * BYTES_PER_MIB, m]),
      },
    });
  });
}

function interpolateCurve(curve: Array<[number, number]>, c: number): number {
  const model = buildModel({
    kind: "mrc",
    missRatio: curve,
    maxOpsPerSec: 1,
    latencyRatio: 0,
    pageBytes: 125000,
  });
  // f = min(b / m, 1) with b tiny gives b / m: recover m.
  return 1e-9 / model.opsPerSec(c, 1e-9);
}

async function runEpochs(
  policy: string,
  epochs: number,
  options: {
    scanExitsAt?: number;
    truths?: Partial<Record<"kv" | "scan", Truth>>;
    /** The node's bandwidth (800Mbps). */
    bandwidth?: string;
    /** Tell the decider the epoch's length, so it plans on what a cache can fill. */
    fillAware?: boolean;
  } = {},
) {
  const pb = playbook(policy, options.bandwidth);
  const plan = planRun(pb, "decide-test");
  const state = new AllocationState(plan);
  const decider = new Decider(plan, {
    policy: pb.policy,
    ...(options.fillAware === true ? { epochMs: pb.epochMs } : {}),
  });
  const records: EpochRecord[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const samples = new Map<string, AppSample[]>();
    for (const app of ["kv", "scan"] as const) {
      const current = bundleOfBytes(state.inForce(app));
      const taken = samplesFor(app, current.cacheMiB, current.bandwidthMbps, {
        epoch,
        ...(options.truths === undefined ? {} : { truths: options.truths }),
      });
      const exit = options.scanExitsAt;
      if (app === "scan" && exit !== undefined && epoch >= exit) {
        // Its final sample (state exited) in the epoch it exits, nothing after.
        if (epoch === exit) samples.set(app, [{ ...taken[0] as AppSample, state: "exited" }]);
        continue;
      }
      samples.set(app, taken);
    }
    const allocations = state.snapshot();
    const warmup = epoch < 3;
    const decision = decider.decide({ epoch, warmup, samples, allocations });
    state.request(decision.targets);
    await enforceNode("node", { state, epoch, down: new Map(), enforcer: agentEnforcer() });
    records.push(epochRecord({
      epoch,
      wallTimeMs: 0,
      elapsedMs: (epoch + 1) * 5000,
      warmup,
      policy: pb.policy,
      plan,
      allocations,
      down: new Map(),
      decision,
      timings: { collectMs: 0, estimateMs: 0, auctionMs: 0, enforceMs: 0 },
    }));
  }
  return { records };
}

Deno.test("the decider keeps the equal split while warming up, then allocates by the fitted models", async () => {
  const { records } = await runEpochs("symbiosis", 8);
  assert.equal(records[0]?.phase, "warmup");
  assert.equal(records[0]?.nodes[0]?.prices, null);
  const last = records.at(-1);
  assert.equal(last?.phase, "measure");
  assert.notEqual(last?.nodes[0]?.prices, null);
  const kv = last?.apps.find((a) => a.name === "kv");
  const scan = last?.apps.find((a) => a.name === "scan");
  // The latency-sensitive kv ends with more cache than the equal 128 MiB, the scan with more bandwidth.
  assert.ok((kv?.cacheMiB ?? 0) > 128, `kv cache ${kv?.cacheMiB}`);
  assert.ok((scan?.bandwidthMbps ?? 0) > 400, `scan bandwidth ${scan?.bandwidthMbps}`);
  assert.equal(kv?.model, "mrc");
  assert.ok((kv?.predictedOpsPerSec ?? 0) > 0);
});

Deno.test("the decider's predictions match a noiseless app within a few percent", async () => {
  const { records } = await runEpochs("symbiosis", 10);
  for (const app of records.at(-1)?.apps ?? []) {
    if (app.predictedOpsPerSec === null || app.opsPerSec === null) {
      throw new Error(`no prediction for ${app.name}`);
    }
    const error = Math.abs(app.predictedOpsPerSec - app.opsPerSec) / app.opsPerSec;
    assert.ok(
      error < 0.05,
      `${app.name}: predicted ${app.predictedOpsPerSec}, observed ${app.opsPerSec}`,
    );
  }
});

Deno.test("the decider under static keeps the equal split throughout", async () => {
  const { records } = await runEpochs("static", 6);
  for (const record of records) {
    for (const app of record.apps) assert.ok(Math.abs(app.cacheMiB - 128) < 1e-6);
  }
});

Deno.test("the decider leaves every app at least a tenth of its equal bandwidth, even one whose curve says it needs none", async () => {
  // This kv's misses reach zero at 100 MiB: its model says it needs no bandwidth there, yet its
  // cache fills only through misses.
  const { records } = await runEpochs("symbiosis", 12, {
    truths: {
      kv: { curve: [[16, 0.9], [100, 0]], max: 40_000, latency: 30 },
    },
  });
  const kv = records.at(-1)?.apps.find((a) => a.name === "kv");
  assert.ok((kv?.cacheMiB ?? 0) >= 100, `kv cache ${kv?.cacheMiB}`);
  const equalMbps = 400;
  assert.ok(MIN_BANDWIDTH_SHARE >= 0.05, "a floor that leaves room to fill a cache");
  assert.ok(
    (kv?.bandwidthMbps ?? 0) >= MIN_BANDWIDTH_SHARE * equalMbps - 1e-6,
    `kv bandwidth ${kv?.bandwidthMbps} Mbps`,
  );
});

/**
 * Per epoch, the kv's cache growth over what its bandwidth could fill in that epoch (MiB), from
 * the policy's allocation (a probe around it is exploration's, bounded on its own).
 */
async function kvGrowthBeyondFill(options: { fillAware: boolean }): Promise<number[]> {
  const { records } = await runEpochs("symbiosis", 14, { bandwidth: "40Mbps", ...options });
  const kv = records.map((r) => r.apps.find((a) => a.name === "kv"));
  return kv.slice(1).map((now, i) => {
    const before = kv[i];
    if (now === undefined || before === undefined) throw new Error("no kv record");
    const policy = now.policyAllocation ?? now;
    return policy.cacheMiB - before.cacheMiB - fillMiBPerMbps(5000, 1) * policy.bandwidthMbps;
  });
}

Deno.test("the decider grows a cache no faster than the app's bandwidth fills it, given the epoch's length", async () => {
  // The node's 40 Mbps fill a few MiB of cache per 5 s epoch; unaware of that, the market
  // grows the kv's cache by far more in one epoch than its bandwidth can fill.
  const unaware = await kvGrowthBeyondFill({ fillAware: false });
  assert.ok(Math.max(...unaware) > 5, `growth beyond fill ${unaware.map((g) => g.toFixed(1))}`);
  const aware = await kvGrowthBeyondFill({ fillAware: true });
  assert.ok(Math.max(...aware) <= 1e-6, `growth beyond fill ${aware.map((g) => g.toFixed(1))}`);
  const { records } = await runEpochs("symbiosis", 14, { bandwidth: "40Mbps", fillAware: true });
  const kv = records.at(-1)?.apps.find((a) => a.name === "kv");
  assert.ok((kv?.cacheMiB ?? 0) > 128, `kv cache ${kv?.cacheMiB}: it still grows`);
});

Deno.test("the decider probes while warming up, and no app gives up more than 5 % of a good", async () => {
  const { records } = await runEpochs("symbiosis", 3);
  const probed = records.filter((r) => r.nodes[0]?.probe != null);
  assert.ok(probed.length >= 2, `${probed.length} probed epochs`);
  for (const record of records) {
    for (const app of record.apps) {
      // Without a model a probe takes at most 5 % of what an app holds (the loss bound).
      assert.ok(app.cacheMiB >= 128 * 0.95 - 1e-6, `epoch ${record.epoch} ${app.name}`);
      assert.ok(app.bandwidthMbps >= 400 * 0.95 - 1e-6, `epoch ${record.epoch} ${app.name}`);
    }
    const cache = record.apps.reduce((a, b) => a + b.cacheMiB, 0);
    assert.ok(Math.abs(cache - 256) < 1e-3, `epoch ${record.epoch}: ${cache} MiB in force`);
  }
});

Deno.test("the decider records each probe on the node and on the apps it moved", async () => {
  const { records } = await runEpochs("symbiosis", 8);
  const probed = records.filter((r) => r.nodes[0]?.probe != null);
  for (const record of probed) {
    const probe = record.nodes[0]?.probe;
    const app = record.apps.find((a) => a.name === probe?.app);
    assert.equal(app?.probe?.role, "probed");
    assert.ok(app?.policyAllocation !== undefined);
    const moved = probe?.good === "cache"
      ? app.cacheMiB - app.policyAllocation.cacheMiB
      : app.bandwidthMbps - app.policyAllocation.bandwidthMbps;
    assert.ok(Math.abs(Math.abs(moved) - (probe?.amount ?? 0)) < 1e-3, `epoch ${record.epoch}`);
    assert.equal(Math.sign(moved), probe?.direction === "up" ? 1 : -1);
  }
  const unprobed = records.filter((r) => r.epoch > 0 && r.nodes[0]?.probe === null);
  assert.ok(unprobed.length > 0);
  for (const record of unprobed) {
    assert.ok(record.apps.every((a) => a.probe === undefined && a.policyAllocation === undefined));
  }
});

Deno.test("the decider under static never explores", async () => {
  const { records } = await runEpochs("static", 6);
  assert.ok(records.every((r) => r.nodes[0]?.probe === null && r.apps.every((a) => !a.probe)));
});

Deno.test("the decider records an app's prediction error and its model's uncertainty", async () => {
  const { records } = await runEpochs("symbiosis", 8);
  const kv = records.at(-1)?.apps.find((a) => a.name === "kv");
  assert.ok(kv?.prediction !== undefined && kv.prediction.relativeError !== null);
  assert.ok(Math.abs(kv.prediction.relativeError) < 0.05);
  assert.ok(typeof kv.uncertainty === "number" && kv.uncertainty >= 0);
});

Deno.test("an app that exited is not recorded as running on its last sample", async () => {
  const { records } = await runEpochs("symbiosis", 7, { scanExitsAt: 5 });
  for (const record of records.filter((r) => r.epoch >= 5)) {
    const scan = record.apps.find((a) => a.name === "scan");
    assert.equal(scan?.opsPerSec, null, `epoch ${record.epoch}`);
    assert.equal(scan?.unsampled, true, `epoch ${record.epoch}`);
    assert.deepEqual(scan?.used, { cacheMiB: 0, remoteReadMbps: 0, remoteWriteMbps: 0 });
    assert.equal(scan?.enforced, undefined);
  }
  const before = records.find((r) => r.epoch === 4)?.apps.find((a) => a.name === "scan");
  assert.ok((before?.used.remoteReadMbps ?? 0) > 0 && before?.unsampled === undefined);
});
