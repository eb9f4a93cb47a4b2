import assert from "node:assert/strict";
import { twoAppPlaybook } from "../../test/fixtures/two_apps.ts";
import { AllocationState } from "./allocation_state.ts";
import { enforceNode, WAITING_FOR_CAPACITY } from "./enforce.ts";
import { agentEnforcer } from "./_agent_enforcer.ts";
import { planRun } from "./plan.ts";

const MiB = 2 ** 20;
const MBPS = 125_000;

/** Two apps on a node of 8 MiB and 80 Mbps: each starts at 4 MiB and 40 Mbps. */
function state(): AllocationState {
  const playbook = twoAppPlaybook("results");
  return new AllocationState(planRun(playbook, "state-test"));
}

const bytes = (cacheMiB: number, bandwidthMbps: number) => ({
  cacheBytes: cacheMiB * MiB,
  bandwidthBytesPerSec: bandwidthMbps * MBPS,
});

Deno.test("AllocationState starts with the launch allocation in force", () => {
  const s = state();
  assert.deepEqual(s.inForce("kv"), bytes(4, 40));
  assert.deepEqual(s.allocated("node"), bytes(8, 80));
  assert.equal(s.snapshot().get("kv")?.notApplied, null);
});

Deno.test("AllocationState shrinks first: an app moving both ways steps down before it grows", () => {
  const s = state();
  s.request(new Map([["kv", bytes(6, 20)], ["scan", bytes(2, 60)]]));
  assert.deepEqual(s.shrinkSteps("node"), [
    { app: "kv", allocation: bytes(4, 20) },
    { app: "scan", allocation: bytes(2, 40) },
  ]);
});

Deno.test("AllocationState grows only into capacity no app holds in force", () => {
  const s = state();
  s.request(new Map([["kv", bytes(6, 40)], ["scan", bytes(2, 40)]]));
  // b's shrink has not been applied: a cannot grow at all.
  assert.deepEqual(s.growSteps("node"), []);
  s.applied("scan", bytes(2, 40), 0);
  assert.deepEqual(s.growSteps("node"), [{ app: "kv", allocation: bytes(6, 40) }]);
});

Deno.test("AllocationState shares what is free among grows that do not all fit", () => {
  const s = state();
  s.request(new Map([["kv", bytes(6, 40)], ["scan", bytes(6, 40)]]));
  s.applied("kv", bytes(2, 40), 0);
  s.applied("scan", bytes(2, 40), 0);
  // 4 MiB free, 8 MiB wanted: each gets half of its missing 4 MiB.
  assert.deepEqual(s.growSteps("node"), [
    { app: "kv", allocation: bytes(4, 40) },
    { app: "scan", allocation: bytes(4, 40) },
  ]);
});

Deno.test("AllocationState refuses an applied grow that would overcommit the node", () => {
  const s = state();
  assert.throws(() => s.applied("kv", bytes(5, 40), 0), /would overcommit node node/);
  assert.deepEqual(s.inForce("kv"), bytes(4, 40));
});

Deno.test("enforceNode: a failed shrink keeps its capacity, the grow waits, both are recorded", async () => {
  const s = state();
  s.request(new Map([["kv", bytes(6, 40)], ["scan", bytes(2, 40)]]));
  const failing = agentEnforcer((app) =>
    app === "scan" ? Promise.reject(new Error("cgroup write failed")) : Promise.resolve()
  );
  const outcomes = await enforceNode("node", {
    state: s,
    epoch: 3,
    down: new Map(),
    enforcer: failing,
  });
  assert.deepEqual(failing.sent, ["scan"], "no grow is applied while the shrink failed");
  assert.deepEqual(outcomes.map((o) => [o.app, o.error]), [[
    "scan",
    "cgroup write failed (internal)",
  ]]);
  assert.deepEqual(s.allocated("node"), bytes(8, 80));
  const snapshot = s.snapshot();
  assert.equal(snapshot.get("scan")?.notApplied, "failed: cgroup write failed (internal)");
  assert.equal(snapshot.get("kv")?.notApplied, WAITING_FOR_CAPACITY);
  // Next epoch the same targets are retried, and now both apply, in one request.
  const working = agentEnforcer();
  await enforceNode("node", { state: s, epoch: 4, down: new Map(), enforcer: working });
  assert.equal(working.requests, 1);
  assert.deepEqual(working.sent, ["scan", "kv"]);
  assert.deepEqual(s.inForce("kv"), bytes(6, 40));
  assert.deepEqual(s.inForce("scan"), bytes(2, 40));
  assert.equal(s.snapshot().get("kv")?.notApplied, null);
  assert.equal(s.snapshot().get("kv")?.changedAtEpoch, 4);
});

Deno.test("enforceNode sends a node's shrinks and grows in one request", async () => {
  const s = state();
  s.request(new Map([["kv", bytes(6, 40)], ["scan", bytes(2, 40)]]));
  const agent = agentEnforcer();
  await enforceNode("node", { state: s, epoch: 2, down: new Map(), enforcer: agent });
  assert.equal(agent.requests, 1);
  assert.deepEqual(agent.sent, ["scan", "kv"], "the shrink is applied before the grow");
  assert.deepEqual(s.inForce("kv"), bytes(6, 40));
});

Deno.test("enforceNode sends nothing to a node whose allocations did not change", async () => {
  const s = state();
  s.request(new Map([["kv", bytes(4, 40)], ["scan", bytes(4, 40)]]));
  const agent = agentEnforcer();
  const outcomes = await enforceNode("node", {
    state: s,
    epoch: 2,
    down: new Map(),
    enforcer: agent,
  });
  assert.equal(agent.requests, 0);
  assert.deepEqual(outcomes, []);
});

Deno.test("enforceNode plans the grows again after a failed shrink and sends those that fit", async () => {
  const s = state();
  // kv: cache down, bandwidth up; scan: bandwidth down, cache up.
  s.request(new Map([["kv", bytes(2, 60)], ["scan", bytes(6, 20)]]));
  const agent = agentEnforcer((app) =>
    app === "scan" && agent.requests === 1 ? Promise.reject(new Error("busy")) : Promise.resolve()
  );
  const outcomes = await enforceNode("node", {
    state: s,
    epoch: 5,
    down: new Map(),
    enforcer: agent,
  });
  assert.equal(agent.requests, 2);
  // Round one: both shrinks (scan's fails, so no grow is tried); round two: what now fits.
  assert.deepEqual(agent.sent, ["kv", "scan", "scan"]);
  assert.deepEqual(outcomes.map((o) => [o.app, o.error]), [
    ["kv", null],
    ["scan", "busy (internal)"],
    ["scan", null],
  ]);
  assert.deepEqual(s.inForce("kv"), bytes(2, 40));
  assert.deepEqual(s.inForce("scan"), bytes(6, 40), "the cache kv freed, not the bandwidth");
  assert.deepEqual(s.allocated("node"), bytes(8, 80));
  assert.equal(s.snapshot().get("kv")?.notApplied, WAITING_FOR_CAPACITY);
  assert.equal(s.snapshot().get("scan")?.notApplied, "failed: busy (internal)");
});

Deno.test("enforceNode leaves an app that is down as it is", async () => {
  const s = state();
  s.request(new Map([["kv", bytes(2, 40)], ["scan", bytes(6, 40)]]));
  await enforceNode("node", {
    state: s,
    epoch: 1,
    down: new Map([["kv", "crashed (exit status 1)"]]),
    enforcer: agentEnforcer(),
  });
  assert.deepEqual(s.inForce("kv"), bytes(4, 40));
  assert.deepEqual(s.inForce("scan"), bytes(4, 40));
  assert.equal(s.snapshot().get("kv")?.notApplied, "crashed (exit status 1)");
});

Deno.test("AllocationState: a released app holds and asks for nothing until a grow relaunches it", () => {
  const s = state();
  s.request(new Map([["kv", bytes(2, 40)], ["scan", bytes(6, 40)]]));
  s.release("scan", 3);
  assert.deepEqual(s.inForce("scan"), bytes(0, 0));
  assert.equal(s.snapshot().get("scan")?.notApplied, null);
  assert.equal(s.snapshot().get("scan")?.changedAtEpoch, 3);
  assert.deepEqual(s.allocated("node"), bytes(4, 40));
  // Asked for again while it returns, then released again: nothing requested.
  s.request(new Map([["scan", bytes(4, 40)]]));
  s.release("scan", 4);
  assert.deepEqual(s.snapshot().get("scan")?.requested, bytes(0, 0));
  // Its relaunch is a grow step out of what is free.
  s.request(new Map([["scan", bytes(4, 40)]]));
  assert.deepEqual(s.growSteps("node"), [{ app: "scan", allocation: bytes(4, 40) }]);
  s.applied("scan", bytes(4, 40), 5);
  assert.equal(s.isReleased("scan"), false);
});
