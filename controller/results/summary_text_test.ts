import assert from "node:assert/strict";
import { syntheticEpochs } from "./_synthetic.ts";
import { summarise } from "./summary.ts";
import { formatOpsPerSec, formatSummary } from "./summary_text.ts";

Deno.test("formatSummary says plainly when the baseline is the model's estimate", () => {
  const text = formatSummary(summarise(syntheticEpochs(6), { playbook: "p" }));
  assert.match(text, /^kv\s+15000\s+.*10000 \(model\)\s+x1\.500/m);
  assert.match(
    text,
    /the models' estimate of each app's throughput at its equal split, not a measured static run/,
  );
  assert.match(text, /\(against the model's estimate\)/);
  assert.match(text, /Prediction error: median \d+\.\d%, 90th percentile \d+\.\d%/);
});

Deno.test("formatSummary names a measured static baseline as such", () => {
  const measured = formatSummary(
    summarise(syntheticEpochs(6), { playbook: "p", baselineOpsPerSec: { kv: 9000, scan: 2000 } }),
  );
  assert.match(measured, /a measured run of the same playbook under the static policy/);
  assert.doesNotMatch(measured, /\(model\)/);
  const own = formatSummary(summarise(syntheticEpochs(4, { policy: "static" }), { playbook: "p" }));
  assert.match(own, /this run \(static policy: the equal split, measured\)/);
});

Deno.test("formatOpsPerSec keeps a decimal below 100 ops/s", () => {
  assert.equal(formatOpsPerSec(8.94), "8.9");
  assert.equal(formatOpsPerSec(11156.4), "11156");
});
