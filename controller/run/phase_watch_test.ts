import assert from "node:assert/strict";
import type { AppSample } from "../../agent/protocol.ts";
import { PhaseWatch } from "./phase_watch.ts";

/** Just what the watch reads of a sample. */
function sample(timeMs: number, phase?: string): AppSample {
  return { timeMs, ...(phase === undefined ? {} : { phase }) } as AppSample;
}

Deno.test("PhaseWatch: the first phase an app reports is where it starts, not a change", () => {
  const watch = new PhaseWatch();
  assert.deepEqual(watch.observe(new Map([["a", [sample(0, "kv"), sample(1000, "kv")]]])), []);
});

Deno.test("PhaseWatch reports a change with both phases, timed by the first sample of the new one", () => {
  const watch = new PhaseWatch();
  watch.observe(new Map([["a", [sample(0, "kv")]]]));
  const changes = watch.observe(
    new Map([["a", [sample(1000, "kv"), sample(2000, "stream"), sample(3000, "stream")]]]),
  );
  assert.deepEqual(changes, [{ app: "a", from: "kv", to: "stream", agoMs: 1000 }]);
  // The next collection in the same phase is no change; a switch back is one.
  assert.deepEqual(watch.observe(new Map([["a", [sample(4000, "stream")]]])), []);
  assert.deepEqual(watch.observe(new Map([["a", [sample(5000, "kv")]]])), [
    { app: "a", from: "stream", to: "kv", agoMs: 0 },
  ]);
});

Deno.test("PhaseWatch reports every change within one collection, per app", () => {
  const watch = new PhaseWatch();
  const changes = watch.observe(
    new Map([
      ["a", [sample(0, "kv"), sample(1000, "stream"), sample(2000, "kv")]],
      ["b", [sample(0, "stream"), sample(2000, "kv")]],
    ]),
  );
  assert.deepEqual(changes, [
    { app: "a", from: "kv", to: "stream", agoMs: 1000 },
    { app: "a", from: "stream", to: "kv", agoMs: 0 },
    { app: "b", from: "stream", to: "kv", agoMs: 0 },
  ]);
});

Deno.test("PhaseWatch: apps that report no phase have no changes", () => {
  const watch = new PhaseWatch();
  watch.observe(new Map([["a", [sample(0)]]]));
  assert.deepEqual(watch.observe(new Map([["a", [sample(1000), sample(2000)]]])), []);
});
