import assert from "node:assert/strict";
import type { RemoteSwapChange, RemoteSwapEvent } from "../../agent/protocol.ts";
import { parseExposition, sampleValue } from "../../test/fixtures/prometheus_text.ts";
import { RunMetrics } from "../results/metrics.ts";
import { agentEventBody } from "./events.ts";
import {
  REMOTE_SWAP_FAULT_SLUGS,
  remoteSwapEventBody,
  remoteSwapRemovedBody,
} from "./remote_swap_events.ts";

function swapEvent(change: RemoteSwapChange, extra: Partial<RemoteSwapEvent> = {}) {
  return {
    event: "remote-swap",
    change,
    device: "/dev/loop7",
    message: "what happened",
    ...extra,
  } satisfies RemoteSwapEvent;
}

Deno.test("remote swap faults are fault events named by their slug, with the device and details", () => {
  const expected: Array<[RemoteSwapChange, string]> = [
    ["connection-lost", "remote-swap-disconnected"],
    ["pages-lost", "remote-swap-lost"],
    ["unavailable", "remote-swap-unavailable"],
    ["worker-failed", "remote-swap-io-failed"],
    ["engine-exited", "remote-swap-dead"],
    ["daemon-exited", "remote-swap-daemon-dead"],
    ["stop-failed", "remote-swap-stop-failed"],
    ["replace-failed", "remote-swap-replace-failed"],
    ["unsupervised", "remote-swap-unsupervised"],
  ];
  for (const [change, slug] of expected) {
    const body = remoteSwapEventBody("node", swapEvent(change, { worker: 1 }));
    assert.equal(body.kind, "fault", change);
    assert.equal(body.host, "node");
    assert.equal(body.message, "remote swap /dev/loop7: what happened");
    assert.deepEqual(body.details, {
      fault: slug,
      remoteSwap: change,
      device: "/dev/loop7",
      worker: 1,
    });
  }
  assert.deepEqual(
    [...new Set(expected.map(([, slug]) => slug))].sort(),
    [...REMOTE_SWAP_FAULT_SLUGS].sort(),
    "every slug is used",
  );
});

Deno.test("a remote swap reconnection or replacement is a restart event, not a fault", () => {
  const reconnected = remoteSwapEventBody(
    "node",
    swapEvent("reconnected", { worker: 0, reattached: true, afterMs: 300 }),
  );
  assert.equal(reconnected.kind, "restart");
  assert.deepEqual(reconnected.details, {
    remoteSwap: "reconnected",
    device: "/dev/loop7",
    worker: 0,
    reattached: true,
    afterMs: 300,
  });
  assert.equal(remoteSwapEventBody("node", swapEvent("replaced")).kind, "restart");
});

Deno.test("agent remote-swap messages become run events, and the live metrics count them by slug", () => {
  const metrics = new RunMetrics({ playbook: "p", policy: "static" });
  for (const change of ["engine-exited", "engine-exited", "pages-lost", "reconnected"] as const) {
    const body = agentEventBody("node", swapEvent(change));
    assert.ok(body !== null);
    metrics.event({ time: "2026-12-01T00:00:00.000Z", ...body });
  }
  const families = parseExposition(metrics.exposition());
  assert.equal(sampleValue(families, "spirit_faults_total", { kind: "remote-swap-dead" }), 2);
  assert.equal(sampleValue(families, "spirit_faults_total", { kind: "remote-swap-lost" }), 1);
  assert.equal(sampleValue(families, "spirit_events_total", { kind: "restart" }), 1);
});

Deno.test("the remote swap device removed at teardown is a stop event with the steps done", () => {
  const body = remoteSwapRemovedBody("node", {
    id: "0123456789abcdef",
    device: "/dev/loop7",
    removed: ["swapoff", "loop-detach", "unmount", "engine-stop", "state", "daemon-exit"],
  });
  assert.equal(body.kind, "stop");
  assert.equal(
    body.message,
    "remote swap /dev/loop7 removed (swapoff, loop-detach, unmount, engine-stop, state, daemon-exit)",
  );
  assert.deepEqual(body.details?.steps, [
    "swapoff",
    "loop-detach",
    "unmount",
    "engine-stop",
    "state",
    "daemon-exit",
  ]);
});
