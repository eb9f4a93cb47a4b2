import assert from "node:assert/strict";
import { syntheticEpochs } from "./_synthetic.ts";
import { appRecordExtras } from "./record_extras.ts";

Deno.test("appRecordExtras reads requested, notApplied and down when present", () => {
  const app = {
    ...syntheticEpochs(1)[0]!.apps[0]!,
    requested: { cacheMiB: 300, bandwidthMbps: 400 },
    notApplied: "agent unreachable",
    down: "crashed (signal SIGKILL)",
  };
  assert.deepEqual(appRecordExtras(app), {
    requested: { cacheMiB: 300, bandwidthMbps: 400 },
    notApplied: "agent unreachable",
    down: "crashed (signal SIGKILL)",
  });
});

Deno.test("appRecordExtras ignores absent and malformed fields", () => {
  assert.deepEqual(appRecordExtras(syntheticEpochs(1)[0]!.apps[0]!), {
    requested: null,
    notApplied: null,
    down: null,
  });
  const odd = { ...syntheticEpochs(1)[0]!.apps[0]!, requested: { cacheMiB: "1" }, down: 3 };
  assert.deepEqual(appRecordExtras(odd as never), {
    requested: null,
    notApplied: null,
    down: null,
  });
});
