import assert from "node:assert/strict";
import { syntheticEpochs } from "./_synthetic.ts";
import {
  eventCategory,
  phaseChangeEvent,
  phaseChanges,
  runStartMs,
  timelineMarkers,
} from "./timeline.ts";
import type { RunEvent } from "./types.ts";

const at = (seconds: number) => new Date(Date.parse("2026-01-01T00:00:00Z") + seconds * 1000);

Deno.test("phaseChangeEvent builds the documented event shape", () => {
  assert.deepEqual(phaseChangeEvent("ph", { from: "kv", to: "stream", host: "cn1" }), {
    kind: "phase",
    app: "ph",
    host: "cn1",
    message: "phase kv -> stream",
    details: { to: "stream", from: "kv" },
  });
  assert.deepEqual(phaseChangeEvent("ph", { to: "kv" }).details, { to: "kv" });
});

Deno.test("eventCategory marks faults, restarts, gaps, phases and exits, not the rest", () => {
  const e = (kind: RunEvent["kind"], extra: Partial<RunEvent> = {}): RunEvent => ({
    time: at(1).toISOString(),
    kind,
    message: "m",
    ...extra,
  });
  assert.deepEqual(
    [e("fault"), e("restart"), e("gap"), e("phase"), e("start"), e("warning")].map(eventCategory),
    ["fault", "restart", "gap", "phase", null, null],
  );
  assert.equal(
    eventCategory(e("info", { details: { phaseChange: { app: "a", to: "kv" } } })),
    "phase",
  );
  const exit = { exit: { code: 0, signal: null } };
  assert.equal(eventCategory(e("stop", { app: "a", details: exit })), "exit");
  assert.equal(eventCategory(e("stop", { details: exit })), null, "not about an app");
  const crash = { exit: { code: null, signal: "SIGKILL" } };
  assert.equal(eventCategory(e("fault", { app: "a", details: crash })), "fault", "a crash");
});

Deno.test("runStartMs is the first record's time minus its elapsed time", () => {
  assert.equal(runStartMs(syntheticEpochs(2)), at(0).getTime());
  assert.equal(runStartMs([]), null);
});

Deno.test("timelineMarkers places marked events in seconds since the start, in order", () => {
  const events: RunEvent[] = [
    { time: at(12.5).toISOString(), kind: "restart", host: "cn1", message: "agent" },
    { time: at(7).toISOString(), kind: "fault", app: "kv", message: "died" },
    { time: at(8).toISOString(), kind: "start", message: "ignored" },
    { time: "not a time", kind: "fault", message: "no time" },
  ];
  assert.deepEqual(timelineMarkers(syntheticEpochs(4), events), [
    { seconds: 7, category: "fault", app: "kv", label: "fault kv: died" },
    { seconds: 12.5, category: "restart", app: null, label: "restart on cn1: agent" },
  ]);
});

const phasedPlaybook = {
  apps: [
    { name: "kv", workload: { kind: "kv" } },
    {
      name: "ph",
      workload: {
        kind: "phased",
        phases: [{ kind: "kv", durationMs: 15_000 }, { kind: "stream", durationMs: 5_000 }],
      },
    },
  ],
};

Deno.test("phaseChanges follows a phased workload's schedule, looping, up to the last record", () => {
  // 10 epochs of 5 s: the run ends at 50 s.
  assert.deepEqual(
    phaseChanges({ records: syntheticEpochs(10), events: [], playbook: phasedPlaybook }),
    [
      { app: "ph", atMs: 15_000, to: "stream", source: "schedule" },
      { app: "ph", atMs: 20_000, to: "kv", source: "schedule" },
      { app: "ph", atMs: 35_000, to: "stream", source: "schedule" },
      { app: "ph", atMs: 40_000, to: "kv", source: "schedule" },
    ],
  );
});

Deno.test("phaseChanges prefers an app's phase events to its schedule", () => {
  const events: RunEvent[] = [
    { time: at(16).toISOString(), ...phaseChangeEvent("ph", { to: "stream" }) },
    {
      time: at(30).toISOString(),
      kind: "info",
      message: "x",
      details: { phaseChange: { to: "kv" } },
      app: "ph",
    },
    { time: at(99).toISOString(), ...phaseChangeEvent("ph", { to: "stream" }) },
  ];
  assert.deepEqual(
    phaseChanges({ records: syntheticEpochs(10), events, playbook: phasedPlaybook }),
    [
      { app: "ph", atMs: 16_000, to: "stream", source: "event" },
      { app: "ph", atMs: 30_000, to: "kv", source: "event" },
    ],
  );
});

Deno.test("phaseChanges ignores malformed and single-phase schedules", () => {
  const playbook = {
    apps: [
      { name: "one", workload: { kind: "phased", phases: [{ kind: "kv", durationMs: 1000 }] } },
      { name: "bad", workload: { kind: "phased", phases: "kv:10s" } },
      "junk",
    ],
  };
  assert.deepEqual(phaseChanges({ records: syntheticEpochs(10), events: [], playbook }), []);
  assert.deepEqual(phaseChanges({ records: syntheticEpochs(10), events: [], playbook: null }), []);
});
