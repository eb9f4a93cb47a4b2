/**
 * The session's fault handling, driven by the simulator in virtual time: every fault is an
 * event, the run goes on, and teardown leaves nothing behind.
 */
import assert from "node:assert/strict";
import { readEpochs } from "../results/read.ts";
import { parseEvents } from "../results/read.ts";
import type { EpochRecord, RunEvent } from "../results/types.ts";
import type { SimFault } from "../simulate/faults.ts";
import { simulatePlaybook, type SimulationResult } from "../simulate/simulate.ts";
import { twoAppPlaybook } from "../../test/fixtures/two_apps.ts";

interface Outcome {
  result: SimulationResult;
  events: RunEvent[];
  records: EpochRecord[];
}

async function simulate(faults: SimFault[]): Promise<Outcome> {
  const output = await Deno.makeTempDir({ prefix: "spirit-session-sim-" });
  try {
    const result = await simulatePlaybook(twoAppPlaybook(output), {
      faults,
      seed: 7,
      startWallMs: 0,
    });
    const events = parseEvents(await Deno.readTextFile(`${result.runDir}/events.jsonl`));
    const { records } = await readEpochs(result.runDir);
    return { result, events, records };
  } finally {
    await Deno.remove(output, { recursive: true });
  }
}

const matching = (events: RunEvent[], kind: RunEvent["kind"], pattern: RegExp) =>
  events.filter((e) => e.kind === kind && pattern.test(e.message));

/** Events naming `fault` in `details.fault`. */
const slugs = (events: RunEvent[], fault: string) =>
  events.filter((e) => e.details?.fault === fault);

/** Measured throughput of `app` in the records from `fromMs` of elapsed time on. */
function throughputAfter(records: EpochRecord[], app: string, fromMs: number): number[] {
  return records.filter((r) => r.elapsedMs > fromMs).map((r) =>
    r.apps.find((a) => a.name === app)?.opsPerSec ?? 0
  );
}

function assertNothingLeft({ result }: Outcome): void {
  for (const host of result.world.hosts()) {
    assert.deepEqual(host.running().map((p) => p.argv.join(" ")), [], `processes on ${host.name}`);
    assert.deepEqual(host.liveDaemons().map((d) => d.pid), [], `daemons on ${host.name}`);
    assert.deepEqual([...host.paths].filter((p) => p.startsWith("/tmp/spirit-")), []);
  }
}

Deno.test("a simulated run records every epoch and tears everything down", async () => {
  const outcome = await simulate([]);
  assert.equal(outcome.result.epochs, 20);
  assert.equal(outcome.records.length, 20);
  // Epoch 0 has one sample per app, which has no rate yet: a gap, as with a real agent.
  const measured = outcome.records.filter((r) => r.epoch > 0);
  assert.ok(measured.every((r) => r.apps.every((a) => (a.opsPerSec ?? 0) > 0)));
  assert.equal(matching(outcome.events, "fault", /./).length, 0);
  assertNothingLeft(outcome);
});

Deno.test("a lost agent session is re-attached and the apps run on", async () => {
  const outcome = await simulate([{ kind: "agent-session-lost", host: "node", atMs: 5500 }]);
  assert.equal(matching(outcome.events, "fault", /agent session ended/).length, 1);
  assert.equal(slugs(outcome.events, "agent-lost").length, 1);
  const reattached = matching(outcome.events, "restart", /agent re-attached/);
  assert.equal(reattached.length, 1);
  assert.doesNotMatch(reattached[0]?.message ?? "", /relaunching/);
  for (const app of ["kv", "scan"]) {
    assert.ok(throughputAfter(outcome.records, app, 7000).every((ops) => ops > 0), app);
  }
  assertNothingLeft(outcome);
});

Deno.test("a killed agent daemon is replaced and its apps relaunched at their allocation", async () => {
  const outcome = await simulate([{ kind: "agent-daemon-killed", host: "node", atMs: 8500 }]);
  assert.match(
    matching(outcome.events, "restart", /agent re-attached/)[0]?.message ?? "",
    /relaunching kv, scan/,
  );
  assert.equal(slugs(outcome.events, "agent-lost").length, 1);
  assert.equal(slugs(outcome.events, "agent-daemon-lost").length, 1);
  const relaunched = outcome.result.world.applied.filter((a) =>
    a.timeMs === 9000 && a.via === "launch"
  );
  const before = outcome.records.find((r) => r.epoch === 8);
  for (const app of relaunched) {
    const inForce = before?.apps.find((a) => a.name === app.app);
    assert.ok(inForce !== undefined);
    assert.ok(Math.abs(app.allocation.cacheBytes / 2 ** 20 - inForce.cacheMiB) < 16, app.app);
  }
  assert.equal(relaunched.length, 2);
  assert.ok(throughputAfter(outcome.records, "kv", 11_000).every((ops) => ops > 0));
  assertNothingLeft(outcome);
});

Deno.test("a dead memory server is restarted and its far-memory apps relaunched", async () => {
  const outcome = await simulate([{ kind: "memserver-killed", host: "mem", atMs: 6200 }]);
  assert.equal(matching(outcome.events, "fault", /memory server exited \(status 137\)/).length, 1);
  assert.equal(matching(outcome.events, "restart", /memory server restarted/).length, 1);
  assert.equal(matching(outcome.events, "restart", /relaunched on the restarted/).length, 2);
  // The apps' crashes (they lost their memory server) are events too.
  assert.equal(matching(outcome.events, "fault", /app crashed/).length, 2);
  assert.equal(slugs(outcome.events, "memserver-exited").length, 1);
  assert.equal(slugs(outcome.events, "app-crashed").length, 2);
  assert.ok(throughputAfter(outcome.records, "scan", 9000).every((ops) => ops > 0));
  assertNothingLeft(outcome);
});

Deno.test("a crashed app is an event and is relaunched at the next epoch", async () => {
  const outcome = await simulate([{ kind: "app-crash", app: "kv", atMs: 4300 }]);
  const crash = matching(outcome.events, "fault", /app crashed \(exit status 1\)/);
  assert.deepEqual(crash.map((e) => e.app), ["kv"]);
  assert.deepEqual(slugs(outcome.events, "app-crashed").map((e) => e.app), ["kv"]);
  assert.equal(matching(outcome.events, "restart", /relaunched \(attempt 1\)/).length, 1);
  const relaunch = outcome.result.world.applied.filter((a) =>
    a.app === "kv" && a.timeMs === 5000 && a.via === "launch"
  );
  assert.equal(relaunch.length, 1, "relaunched at the end of the epoch it crashed in");
  assert.ok(throughputAfter(outcome.records, "kv", 6000).every((ops) => ops > 0));
  assertNothingLeft(outcome);
});

Deno.test("an app that exits by itself is an event and stays down", async () => {
  const outcome = await simulate([{ kind: "app-exit", app: "scan", atMs: 10_100 }]);
  assert.equal(matching(outcome.events, "stop", /exited by itself \(exit status 0\)/).length, 1);
  assert.deepEqual(slugs(outcome.events, "app-exited").map((e) => e.app), ["scan"]);
  assert.equal(matching(outcome.events, "restart", /relaunch/).length, 0);
  const after = outcome.records.filter((r) => r.elapsedMs > 12_000);
  assert.ok(
    after.every((r) => r.apps[1]?.opsPerSec === null && /exited/.test(r.apps[1]?.down ?? "")),
  );
  assert.ok(after.every((r) => (r.apps[0]?.opsPerSec ?? 0) > 0), "kv runs on");
  assertNothingLeft(outcome);
});

Deno.test("a relaunch that fails is a fault event, the app is down, and the run goes on", async () => {
  const outcome = await simulate([
    { kind: "app-crash", app: "kv", atMs: 5100 },
    { kind: "launch-fails", app: "kv", fromMs: 5000, untilMs: 7500 },
  ]);
  const failed = matching(outcome.events, "fault", /relaunch failed: .*injected fault/);
  assert.deepEqual(failed.map((e) => e.time), [6000, 7000].map((ms) => new Date(ms).toISOString()));
  assert.equal(slugs(outcome.events, "relaunch-failed").length, 2);
  assert.match(outcome.records.find((r) => r.epoch === 6)?.apps[0]?.down ?? "", /relaunch failed/);
  assert.equal(outcome.result.epochs, 20);
  assert.ok(throughputAfter(outcome.records, "kv", 10_000).every((ops) => ops > 0));
  assert.ok(throughputAfter(outcome.records, "scan", 1000).every((ops) => ops > 0));
  assertNothingLeft(outcome);
});

Deno.test("an app relaunched too often in a row is left down", async () => {
  const crashes = [3100, 5100, 7100, 9100].map((atMs): SimFault => ({
    kind: "app-crash",
    app: "scan",
    atMs,
  }));
  const outcome = await simulate(crashes);
  assert.equal(matching(outcome.events, "restart", /relaunched \(attempt/).length, 3);
  assert.deepEqual(slugs(outcome.events, "app-given-up").map((e) => e.app), ["scan"]);
  assert.match(outcome.records.at(-1)?.apps[1]?.down ?? "", /relaunched 3 times in a row/);
  // Left down, it holds nothing: kv has the whole node.
  const last = outcome.records.at(-1)?.apps;
  assert.equal(last?.[1]?.cacheMiB, 0);
  assert.equal(last?.[0]?.cacheMiB, 8);
  assertNothingLeft(outcome);
});

Deno.test("an app's relaunch count starts over once it has run for a few epochs", async () => {
  const crashes = [2100, 7100, 12_100, 17_100].map((atMs): SimFault => ({
    kind: "app-crash",
    app: "scan",
    atMs,
  }));
  const outcome = await simulate(crashes);
  assert.equal(matching(outcome.events, "restart", /relaunched \(attempt 1\)/).length, 4);
  assert.deepEqual(slugs(outcome.events, "app-given-up"), []);
  assert.ok(throughputAfter(outcome.records, "scan", 19_000).every((ops) => ops > 0));
  assertNothingLeft(outcome);
});

Deno.test("collect errors are gaps, not faults", async () => {
  const outcome = await simulate([{
    kind: "samples-fail",
    host: "node",
    fromMs: 6000,
    untilMs: 8000,
  }]);
  assert.equal(matching(outcome.events, "gap", /no samples this epoch/).length, 2);
  assert.equal(slugs(outcome.events, "collect-failed").length, 2);
  const gapEpochs = outcome.records.filter((r) =>
    r.epoch > 0 && r.apps.every((a) => a.opsPerSec === null)
  );
  assert.deepEqual(gapEpochs.map((r) => r.epoch), [5, 6]);
  assertNothingLeft(outcome);
});

Deno.test("an unreachable host is retried until it is back, its apps down meanwhile", async () => {
  const outcome = await simulate([{
    kind: "host-unreachable",
    host: "node",
    fromMs: 5500,
    untilMs: 9500,
  }]);
  assert.equal(outcome.result.epochs, 20);
  // One outage: one fault of each kind, the later failed attempts as warnings.
  assert.equal(slugs(outcome.events, "agent-lost").length, 1);
  assert.equal(slugs(outcome.events, "host-unreachable").length, 1);
  assert.equal(matching(outcome.events, "warning", /still unreachable/).length, 3);
  assert.equal(matching(outcome.events, "restart", /agent re-attached/).length, 1);
  for (const epoch of [6, 7, 8]) {
    const apps = outcome.records.find((r) => r.epoch === epoch)?.apps ?? [];
    assert.ok(apps.every((a) => /agent on node unreachable/.test(a.down ?? "")), `${epoch}`);
  }
  // The apps ran on meanwhile (the daemon kept them), and are measured again once it is back.
  assert.ok(throughputAfter(outcome.records, "kv", 11_000).every((ops) => ops > 0));
  assert.equal(slugs(outcome.events, "relaunch-failed").length, 0);
  assertNothingLeft(outcome);
});
