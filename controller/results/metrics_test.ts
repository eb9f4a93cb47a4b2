import assert from "node:assert/strict";
import { parseExposition, sampleValue } from "../../test/fixtures/prometheus_text.ts";
import { syntheticEpochs } from "./_synthetic.ts";
import { RunMetrics } from "./metrics.ts";
import type { EpochRecord } from "./types.ts";

const MiB = 2 ** 20;

function fed(records: EpochRecord[] = syntheticEpochs(3)) {
  const metrics = new RunMetrics({ playbook: "two", policy: "symbiosis" });
  for (const r of records) metrics.epoch(r);
  return { metrics, families: () => parseExposition(metrics.exposition()) };
}

Deno.test("RunMetrics before any epoch exposes the run and zero counters only", () => {
  const families = parseExposition(
    new RunMetrics({ playbook: "p", policy: "static" }).exposition(),
  );
  assert.equal(sampleValue(families, "spirit_run_info", { playbook: "p", policy: "static" }), 1);
  assert.equal(sampleValue(families, "spirit_epochs_total"), 0);
  assert.deepEqual(families.get("spirit_app_cache_allocated_bytes")?.samples, []);
  assert.equal(families.get("spirit_epochs_total")?.type, "counter");
});

Deno.test("RunMetrics exposes each app's latest allocation, use and throughput in bytes and ops/s", () => {
  const families = fed().families();
  // Epoch 2: kv has 296 MiB and 460 Mbps, scan 216 MiB and 540 Mbps.
  const kv = { app: "kv", host: "cn1" };
  assert.equal(sampleValue(families, "spirit_epochs_total"), 3);
  assert.equal(sampleValue(families, "spirit_app_cache_allocated_bytes", kv), 296 * MiB);
  assert.equal(
    sampleValue(families, "spirit_app_bandwidth_allocated_bytes_per_second", kv),
    460 * 125_000,
  );
  assert.equal(sampleValue(families, "spirit_app_cache_used_bytes", kv), 290 * MiB);
  assert.equal(sampleValue(families, "spirit_app_remote_read_bytes_per_second", kv), 100 * 125_000);
  assert.equal(sampleValue(families, "spirit_app_throughput_ops_per_second", kv), 14_000);
  assert.equal(sampleValue(families, "spirit_app_predicted_ops_per_second", kv), 14_500);
  assert.equal(sampleValue(families, "spirit_app_model_info", { ...kv, kind: "mrc" }), 1);
  assert.equal(sampleValue(families, "spirit_warmup"), 0);
  assert.equal(sampleValue(families, "spirit_run_elapsed_seconds"), 15);
});

Deno.test("RunMetrics leaves out what an epoch did not observe", () => {
  const records = syntheticEpochs(1);
  records[0]!.apps[1]!.opsPerSec = null;
  const families = fed(records).families();
  const throughput = families.get("spirit_app_throughput_ops_per_second")?.samples ?? [];
  assert.deepEqual(throughput.map((s) => s.labels.app), ["kv"]);
  // scan has no model before epoch 2.
  assert.equal(sampleValue(families, "spirit_app_model_info", { app: "scan" }), 1);
  assert.equal(
    families.get("spirit_app_model_info")?.samples.find((s) => s.labels.app === "scan")?.labels
      .kind,
    "equal-split",
  );
  assert.deepEqual(families.get("spirit_epoch_step_seconds")?.samples, []);
});

Deno.test("RunMetrics exposes each node's capacity, prices, allocated and used fractions, auction", () => {
  const families = fed().families();
  const cn1 = { host: "cn1" };
  assert.equal(sampleValue(families, "spirit_node_cache_capacity_bytes", cn1), 512 * MiB);
  assert.equal(
    sampleValue(families, "spirit_node_bandwidth_capacity_bytes_per_second", cn1),
    1000 * 125_000,
  );
  assert.equal(sampleValue(families, "spirit_node_price", { ...cn1, resource: "cache" }), 0.54);
  assert.equal(sampleValue(families, "spirit_node_allocated_ratio", { resource: "cache" }), 1);
  // Used cache 290 + 216 of 512 MiB; traffic kv 100 + 5, scan 520 of 1000 Mbps.
  assert.equal(
    sampleValue(families, "spirit_node_utilisation_ratio", { resource: "cache" }),
    506 / 512,
  );
  assert.equal(
    sampleValue(families, "spirit_node_utilisation_ratio", { resource: "bandwidth" }),
    0.625,
  );
  assert.equal(sampleValue(families, "spirit_node_auction_seconds", cn1), 0.0004);
  assert.equal(sampleValue(families, "spirit_node_auction_iterations", cn1), 12);
  assert.equal(sampleValue(families, "spirit_node_auction_converged", cn1), 1);
  const none = fed(syntheticEpochs(1, { prices: false })).families();
  assert.deepEqual(none.get("spirit_node_price")?.samples, []);
});

Deno.test("RunMetrics gives the latest epoch's step times and sums them over the run", () => {
  const records = syntheticEpochs(2);
  const timings = { collectMs: 10, estimateMs: 2, auctionMs: 1, enforceMs: 7, totalMs: 20 };
  records[0]!.timings = timings;
  records[1]!.timings = { ...timings, collectMs: 30, totalMs: 40 };
  const families = fed(records).families();
  assert.equal(sampleValue(families, "spirit_epoch_step_seconds", { step: "collect" }), 0.03);
  assert.equal(sampleValue(families, "spirit_epoch_step_seconds", { step: "total" }), 0.04);
  assert.equal(sampleValue(families, "spirit_epoch_step_seconds_total", { step: "collect" }), 0.04);
  assert.equal(
    sampleValue(families, "spirit_epoch_step_seconds_total", { step: "enforce" }),
    0.014,
  );
});

Deno.test("RunMetrics counts events by kind and faults by their named kind", () => {
  const { metrics, families } = fed([]);
  const time = "2026-01-01T00:00:00Z";
  metrics.event({ time, kind: "start", message: "go" });
  metrics.event({ time, kind: "fault", message: "x", details: { fault: "agent-lost" } });
  metrics.event({ time, kind: "fault", message: "y", details: { fault: "agent-lost" } });
  metrics.event({ time, kind: "fault", message: "z" });
  metrics.event({ time, kind: "gap", message: "no sample" });
  metrics.event({
    time,
    kind: "fault",
    app: "kv",
    message: "app crashed (signal SIGKILL)",
    details: { exit: { code: null, signal: "SIGKILL" } },
  });
  metrics.event({ time, kind: "restart", message: "agent" });
  metrics.event({
    time,
    kind: "stop",
    app: "kv",
    message: "app exited by itself (exit status 0)",
    details: { fault: "app-exited", exit: { code: 0, signal: null } },
  });
  metrics.event({ time, kind: "stop", message: "memory server stopped (exit 0)" });
  const parsed = families();
  assert.equal(sampleValue(parsed, "spirit_events_total", { kind: "fault" }), 4);
  assert.equal(sampleValue(parsed, "spirit_events_total", { kind: "restart" }), 1);
  assert.deepEqual(
    parsed.get("spirit_faults_total")?.samples.map((s) => [s.labels.kind, s.value]),
    [["agent-lost", 2], ["fault", 1], ["gap", 1], ["app-crashed", 1], ["app-exited", 1]],
  );
});

Deno.test("RunMetrics escapes hostile app names in labels", () => {
  const records = syntheticEpochs(1);
  records[0]!.apps[0]!.name = 'k"v\\\n}';
  const families = fed(records).families();
  assert.equal(
    sampleValue(families, "spirit_app_cache_allocated_bytes", { app: 'k"v\\\n}' }),
    256 * MiB,
  );
});

Deno.test("RunMetrics shows whether each app's allocation was applied and the app was up", () => {
  const records = syntheticEpochs(1);
  Object.assign(records[0]!.apps[1]!, {
    requested: { cacheMiB: 300, bandwidthMbps: 400 },
    notApplied: "enforcement failed",
    down: "crashed",
  });
  const families = fed(records).families();
  assert.equal(sampleValue(families, "spirit_app_allocation_applied", { app: "kv" }), 1);
  assert.equal(sampleValue(families, "spirit_app_allocation_applied", { app: "scan" }), 0);
  assert.equal(sampleValue(families, "spirit_app_up", { app: "kv" }), 1);
  assert.equal(sampleValue(families, "spirit_app_up", { app: "scan" }), 0);
});
