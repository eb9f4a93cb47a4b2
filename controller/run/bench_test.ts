import assert from "node:assert/strict";
import { spread, startupOf } from "./bench.ts";

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
