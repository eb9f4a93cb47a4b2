import assert from "node:assert/strict";
import { PredictionLedger, relativeError, summarisePredictionErrors } from "./prediction.ts";

Deno.test("relativeError is signed and undefined for non-positive observations", () => {
  assert.equal(relativeError(110, 100), 0.1);
  assert.equal(relativeError(90, 100), -0.1);
  assert.equal(relativeError(90, 0), null);
});

Deno.test("summarisePredictionErrors reports mean, median and bias", () => {
  const s = summarisePredictionErrors([
    { predictedOpsPerSec: 110, observedOpsPerSec: 100 },
    { predictedOpsPerSec: 80, observedOpsPerSec: 100 },
    { predictedOpsPerSec: 100, observedOpsPerSec: 100 },
    { predictedOpsPerSec: 5, observedOpsPerSec: 0 },
  ]);
  assert.equal(s.count, 3);
  assert.ok(Math.abs(s.meanAbsoluteRelativeError - 0.1) < 1e-12);
  assert.ok(Math.abs(s.medianAbsoluteRelativeError - 0.1) < 1e-12);
  assert.ok(Math.abs(s.meanRelativeBias - (-0.1 / 3)) < 1e-12);
});

Deno.test("PredictionLedger summarises per app and overall", () => {
  const ledger = new PredictionLedger();
  ledger.record({ epoch: 0, app: "kv", predictedOpsPerSec: 120, observedOpsPerSec: 100 });
  ledger.record({ epoch: 0, app: "scan", predictedOpsPerSec: 100, observedOpsPerSec: 100 });
  assert.equal(ledger.summary("kv").meanRelativeBias, 0.2);
  assert.equal(ledger.summary().count, 2);
  assert.equal(ledger.points.length, 2);
});
