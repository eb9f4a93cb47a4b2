import assert from "node:assert/strict";
import {
  epochPrediction,
  PredictionLedger,
  relativeError,
  summariseByApp,
  summarisePredictionErrors,
} from "./prediction.ts";

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

Deno.test("epochPrediction records the error and whether the observation fell in the band", () => {
  const inside = epochPrediction({ predicted: 1100, observed: 1000, uncertainty: 0.2 });
  assert.ok(Math.abs((inside.relativeError ?? 0) - 0.1) < 1e-12);
  assert.deepEqual(inside.band, [1100 / 1.2, 1100 * 1.2]);
  assert.equal(inside.withinBand, true);
  const outside = epochPrediction({ predicted: 1500, observed: 1000, uncertainty: 0.2 });
  assert.equal(outside.withinBand, false);
});

Deno.test("epochPrediction has no error or band without a prediction or an observation", () => {
  assert.deepEqual(epochPrediction({ predicted: null, observed: 1000, uncertainty: 0.2 }), {
    predictedOpsPerSec: null,
    observedOpsPerSec: 1000,
    relativeError: null,
    band: null,
    withinBand: null,
  });
  assert.equal(epochPrediction({ predicted: 900, observed: null }).relativeError, null);
  assert.equal(epochPrediction({ predicted: 900, observed: 1000 }).withinBand, null);
});

Deno.test("summariseByApp summarises each app and all of them", () => {
  const { all, apps } = summariseByApp([
    { epoch: 1, app: "kv", predictedOpsPerSec: 120, observedOpsPerSec: 100 },
    { epoch: 2, app: "kv", predictedOpsPerSec: 100, observedOpsPerSec: 100 },
    { epoch: 1, app: "scan", predictedOpsPerSec: 90, observedOpsPerSec: 100 },
  ]);
  assert.equal(all.count, 3);
  assert.equal(apps.kv?.count, 2);
  assert.ok(Math.abs((apps.scan?.meanRelativeBias ?? 0) + 0.1) < 1e-12);
});
