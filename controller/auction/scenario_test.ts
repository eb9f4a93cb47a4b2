import assert from "node:assert/strict";
import { parseScenario, ScenarioError, validateScenario } from "./scenario.ts";

const valid = () => ({
  nodes: [{ id: "vm0", cacheMiB: 4096, bandwidthMbps: 4000 }],
  apps: [
    {
      id: "a",
      node: "vm0",
      model: { kind: "mrc", missRatio: [[256, 0.8], [4096, 0.1]], maxOpsPerSec: 1e6 },
    },
    { id: "b", node: "vm0", model: { kind: "constant", opsPerSec: 5e4 } },
  ],
});

type App = ReturnType<typeof valid>["apps"][number];
type Node = ReturnType<typeof valid>["nodes"][number];

function rejects(
  mutate: (s: ReturnType<typeof valid> & Record<string, unknown>) => unknown,
  pattern: RegExp,
) {
  const scenario = valid() as ReturnType<typeof valid> & Record<string, unknown>;
  const changed = mutate(scenario) ?? scenario;
  assert.throws(() => validateScenario(changed), (error: unknown) => {
    assert.ok(error instanceof ScenarioError, String(error));
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("parseScenario accepts a valid scenario and resolves limits to the node", () => {
  const scenario = validateScenario(valid());
  const market = scenario.markets[0];
  assert.equal(market?.apps.length, 2);
  assert.deepEqual(market?.apps[0]?.limits, {
    minCacheMiB: 0,
    maxCacheMiB: 4096,
    minBandwidthMbps: 0,
    maxBandwidthMbps: 4000,
  });
});

Deno.test("parseScenario merges top-level and per-app limits field by field", () => {
  const scenario = valid() as Record<string, unknown> & ReturnType<typeof valid>;
  scenario.limits = { minCacheMiB: 100, maxCacheMiB: 3000 };
  (scenario.apps[0] as Record<string, unknown>).limits = { maxCacheMiB: 2000 };
  const apps = validateScenario(scenario).markets[0]?.apps ?? [];
  assert.equal(apps[0]?.limits.minCacheMiB, 100);
  assert.equal(apps[0]?.limits.maxCacheMiB, 2000);
  assert.equal(apps[1]?.limits.maxCacheMiB, 3000);
});

Deno.test("parseScenario rejects text that is not JSON", () => {
  assert.throws(() => parseScenario("{ nodes: "), /\(root\): not valid JSON/);
});

Deno.test("parseScenario rejects an app on an unknown node, naming its path", () => {
  rejects((s) => {
    (s.apps[1] as App).node = "vm9";
  }, /apps\[1\]\.node: unknown node "vm9"/);
});

Deno.test("parseScenario rejects an empty miss-ratio curve", () => {
  rejects((s) => {
    ((s.apps[0] as App).model as { missRatio: unknown[] }).missRatio = [];
  }, /apps\[0\]\.model\.missRatio: missRatio must have at least one point/);
});

Deno.test("parseScenario rejects a miss-ratio curve that rises with cache", () => {
  rejects((s) => {
    ((s.apps[0] as App).model as { missRatio: unknown[] }).missRatio = [[256, 0.2], [1024, 0.5]];
  }, /apps\[0\]\.model\.missRatio\[1\]\[1\]: miss ratio must not increase/);
});

Deno.test("parseScenario rejects cache sizes out of order in a curve", () => {
  rejects((s) => {
    ((s.apps[0] as App).model as { missRatio: unknown[] }).missRatio = [[1024, 0.5], [256, 0.2]];
  }, /apps\[0\]\.model\.missRatio\[1\]\[0\]: cache sizes must be strictly ascending/);
});

Deno.test("parseScenario rejects zero and negative capacities", () => {
  rejects((s) => {
    (s.nodes[0] as Node).cacheMiB = 0;
  }, /nodes\[0\]\.cacheMiB: cacheMiB must be greater than zero/);
  rejects((s) => {
    (s.nodes[0] as Node).bandwidthMbps = -5;
  }, /nodes\[0\]\.bandwidthMbps: bandwidthMbps must be greater than zero/);
});

Deno.test("parseScenario rejects a minimum above its maximum", () => {
  rejects((s) => {
    (s.apps[0] as Record<string, unknown>).limits = { minCacheMiB: 3000, maxCacheMiB: 1000 };
  }, /apps\[0\]\.limits: minCacheMiB 3000 is above maxCacheMiB 1000/);
});

Deno.test("parseScenario rejects minimums that add up to more than the capacity", () => {
  rejects(
    (s) => {
      s.limits = { minBandwidthMbps: 2500 };
    },
    /nodes\[0\]\.bandwidthMbps: the apps' minimum bandwidths add up to 5000, above the capacity 4000/,
  );
});

Deno.test("parseScenario rejects an unknown model kind, listing the known ones", () => {
  rejects(
    (s) => {
      (s.apps[1] as App).model = { kind: "magic", opsPerSec: 1 } as unknown as App["model"];
    },
    /apps\[1\]\.model.*unknown model kind "magic"; expected "mrc", "constant", "grid" or "unknown"/,
  );
});

Deno.test("parseScenario rejects duplicate app ids and unknown fields", () => {
  rejects((s) => {
    (s.apps[1] as App).id = "a";
  }, /apps\[1\]\.id: duplicate app id "a"/);
  rejects((s) => {
    (s.nodes[0] as Record<string, unknown>).cacheGiB = 4;
  }, /nodes\[0\]/);
});

Deno.test("parseScenario rejects a grid whose throughput falls as cache grows", () => {
  rejects((s) => {
    (s.apps[1] as App).model = {
      kind: "grid",
      cacheMiB: [256, 1024],
      bandwidthMbps: [100, 1000],
      opsPerSec: [[10, 20], [5, 30]],
    } as unknown as App["model"];
  }, /apps\[1\]\.model\.opsPerSec\[1\]\[0\]: throughput must not fall as cache grows/);
});

Deno.test("parseScenario accepts an app with an unknown model", () => {
  const scenario = valid();
  (scenario.apps[1] as App).model = {
    kind: "unknown",
    reason: "no swap traffic measurable",
  } as unknown as App["model"];
  const market = validateScenario(scenario).markets[0];
  assert.deepEqual(market?.apps[1]?.model.spec, {
    kind: "unknown",
    reason: "no swap traffic measurable",
  });
});

Deno.test("parseScenario rejects bad fields of an unknown model with their paths", () => {
  rejects((s) => {
    (s.apps[1] as App).model = { kind: "unknown", opsPerSec: -1 } as unknown as App["model"];
  }, /apps\[1\]\.model\.opsPerSec: opsPerSec must not be negative/);
  rejects((s) => {
    (s.apps[1] as App).model = { kind: "unknown", curve: [] } as unknown as App["model"];
  }, /apps\[1\]\.model/);
});
