import assert from "node:assert/strict";
import { validatePlaybook } from "../playbook/validate.ts";
import { appSpecs, modelsFromScenario } from "./app_models.ts";

const playbook = validatePlaybook({
  name: "models",
  hosts: {
    mem: { role: "memory", memserver: { capacity: "1GiB", port: 0 } },
    node: { role: "compute", memoryNode: "mem", cache: "64MiB", bandwidth: "120Mbps" },
  },
  apps: [
    { name: "kv", host: "node", workload: { kind: "kv", dataset: "128MiB", zipf: 0.9 } },
    { name: "scan", host: "node", workload: { kind: "stream", dataset: "128MiB" } },
    {
      name: "phased",
      host: "node",
      workload: {
        kind: "phased",
        dataset: "128MiB",
        phases: [{ kind: "kv", duration: "1m" }, { kind: "stream", duration: "30s" }],
      },
    },
    { name: "cmd", host: "node", command: { argv: ["sleep", "1"] } },
  ],
  duration: "1m",
});

Deno.test("appSpecs gives each workload kind its simulated behaviour", () => {
  const specs = appSpecs(playbook);
  const kv = specs.get("kv")?.phases[0]?.model;
  assert.equal(kv?.kind, "mrc");
  const scan = specs.get("scan")?.phases[0]?.model;
  assert.ok(scan?.kind === "mrc" && scan.missRatio[1]?.[1] === 1, "the scan misses everywhere");
  assert.deepEqual(specs.get("phased")?.phases.map((p) => [p.label, p.durationMs]), [
    ["kv", 60_000],
    ["stream", 30_000],
  ]);
  const cmd = specs.get("cmd");
  assert.equal(cmd?.footprintBytes, 64 * 2 ** 20, "working set as large as the node's cache");
  assert.match(cmd?.source ?? "", /default model of an unmodified program/);
});

Deno.test("appSpecs takes a given model over the workload's", () => {
  const specs = appSpecs(playbook, { cmd: { kind: "constant", opsPerSec: 5 } });
  assert.deepEqual(specs.get("cmd")?.phases[0]?.model, { kind: "constant", opsPerSec: 5 });
  assert.throws(() => appSpecs(playbook, { nope: { kind: "constant", opsPerSec: 5 } }), /nope/);
});

Deno.test("modelsFromScenario maps a scenario's apps to the playbook's by name", () => {
  const text = JSON.stringify({
    nodes: [{ id: "n", cacheMiB: 64, bandwidthMbps: 120 }],
    apps: [{ id: "cmd", node: "n", model: { kind: "constant", opsPerSec: 7 } }],
  });
  assert.deepEqual(modelsFromScenario(text, playbook), { cmd: { kind: "constant", opsPerSec: 7 } });
  assert.throws(
    () => modelsFromScenario(text.replace('"cmd"', '"other"'), playbook),
    /scenario's apps other are not apps of playbook models/,
  );
  assert.throws(() => modelsFromScenario("{", playbook), /not valid JSON/);
});
