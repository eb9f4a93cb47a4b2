import assert from "node:assert/strict";
import { validatePlaybook } from "../playbook/validate.ts";
import { rateOption } from "./bench_options.ts";
import { benchPlaybookSpec, DEFAULT_NODE_BANDWIDTH, spread, startupOf } from "./bench.ts";

Deno.test("spread gives the median and the nearest-rank 95th percentile", () => {
  assert.deepEqual(spread([5, 1, 3]), { medianMs: 3, p95Ms: 5 });
  assert.deepEqual(spread([4, 1, 3, 2]), { medianMs: 2.5, p95Ms: 4 });
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.deepEqual(spread(hundred), { medianMs: 50.5, p95Ms: 95 });
});

Deno.test("spread of no figures is NaN", () => {
  const { medianMs, p95Ms } = spread([]);
  assert.ok(Number.isNaN(medianMs) && Number.isNaN(p95Ms));
});

Deno.test("startupOf reads a run's start-up times from its info event", () => {
  const events = [
    { time: "2026-01-01T00:00:00Z", kind: "start", message: "memory server" },
    {
      time: "2026-01-01T00:00:01Z",
      kind: "info",
      message: "started in 600 ms",
      details: { startup: { hostsMs: 300, memserversMs: 100, agentsMs: 200 } },
    },
  ].map((e) => JSON.stringify(e)).join("\n");
  assert.deepEqual(startupOf(events), { hostsMs: 300, memserversMs: 100, agentsMs: 200 });
  assert.equal(startupOf(""), null);
});

Deno.test("the benchmark's playbook is valid and gives every compute node the bandwidth asked for", () => {
  const hosts = [0, 1, 2].map((i) => ({
    name: `h${i}`,
    netns: `ns${i}`,
    address: `10.0.0.${10 + i}`,
    ssh: {
      host: `10.0.0.${10 + i}`,
      user: "root",
      strictHostKeyChecking: "yes" as const,
      connectTimeoutMs: 3000,
      options: {},
    },
  }));
  const options = { output: "/tmp/out", epochMs: 1000, durationMs: 12_000 };
  const byDefault = validatePlaybook(benchPlaybookSpec(hosts, options));
  const slow = validatePlaybook(
    benchPlaybookSpec(hosts, { ...options, nodeBandwidthBytesPerSec: 1_000_000 }),
  );
  const computes = (p: typeof byDefault) =>
    Object.values(p.hosts).filter((h) => h.role === "compute");
  assert.equal(computes(byDefault).length, 2);
  for (const host of computes(byDefault)) {
    assert.equal(host.role === "compute" && host.bandwidthBytesPerSec, DEFAULT_NODE_BANDWIDTH);
  }
  for (const host of computes(slow)) {
    assert.equal(host.role === "compute" && host.bandwidthBytesPerSec, 1_000_000);
  }
  assert.equal(byDefault.apps.length, 4);
});

Deno.test("a benchmark rate option takes a rate above 0 and names a bad one", () => {
  assert.equal(rateOption("256kbps"), 32_000);
  assert.equal(rateOption("8Mbps"), 1_000_000);
  assert.throws(() => rateOption("0kbps"), /"0kbps" is not a rate above 0/);
  assert.throws(() => rateOption("fast"), /Cannot parse rate "fast"/);
});
