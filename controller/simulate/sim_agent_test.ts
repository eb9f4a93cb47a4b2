import assert from "node:assert/strict";
import type { AgentResponse, HostFacts, SamplesResult } from "../../agent/protocol.ts";
import { modelAppSpec } from "./app_models.ts";
import { type DaemonWorld, SimDaemon } from "./sim_agent.ts";

const MiB = 2 ** 20;
const world: DaemonWorld = {
  specOf: () => modelAppSpec({ kind: "constant", opsPerSec: 100 }, "test"),
  seedOf: () => 1,
  launchFailure: () => null,
  enforcementFailure: () => null,
  samplesFailure: () => null,
  applied: () => {},
  facts: () => ({}) as HostFacts,
};

function call(daemon: SimDaemon, nowMs: number, body: Record<string, unknown>): unknown {
  const response: AgentResponse = daemon.handleLine(JSON.stringify({ id: 1, ...body }), nowMs);
  if (!response.ok) throw new Error(response.error.message);
  return response.result;
}

Deno.test("a simulated agent asked for fresh samples samples now and ticks mid-interval", () => {
  const daemon = new SimDaemon(world, { pid: 7, nowMs: 0, sampleIntervalMs: 1000 });
  call(daemon, 0, {
    op: "launch",
    app: {
      appId: "cmd",
      enforcement: "cgroup",
      argv: ["x"],
      allocation: { cacheBytes: 8 * MiB, bandwidthBytesPerSec: 1e6 },
    },
  });
  daemon.advanceTo(1000);
  const { lastSeq } = call(daemon, 1000, { op: "samples" }) as SamplesResult;
  assert.equal(lastSeq, 1);
  assert.deepEqual(
    (call(daemon, 1010, { op: "samples", sinceSeq: 1 }) as SamplesResult).samples,
    [],
  );
  const fresh = call(daemon, 1010, { op: "samples", sinceSeq: 1, fresh: true }) as SamplesResult;
  assert.deepEqual(fresh.samples.map((s) => [s.seq, s.timeMs]), [[2, 1010]]);
  // The next tick is half an interval on, not at 2000.
  daemon.advanceTo(3000);
  const later = call(daemon, 3000, { op: "samples", sinceSeq: 2 }) as SamplesResult;
  assert.deepEqual(later.samples.map((s) => s.timeMs), [1510, 2510]);
});
