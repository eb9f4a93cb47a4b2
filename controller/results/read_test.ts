import assert from "node:assert/strict";
import { syntheticEpochs } from "./_synthetic.ts";
import { parseEpochs } from "./read.ts";

const lines = (n: number) => syntheticEpochs(n).map((r) => JSON.stringify(r) + "\n").join("");

Deno.test("parseEpochs reads every complete line", () => {
  const parsed = parseEpochs(lines(3));
  assert.equal(parsed.records.length, 3);
  assert.equal(parsed.truncated, false);
});

Deno.test("parseEpochs skips and reports a truncated last line", () => {
  const text = lines(3);
  const cut = text.slice(0, text.length - 40);
  const parsed = parseEpochs(cut);
  assert.equal(parsed.records.length, 2);
  assert.equal(parsed.truncated, true);
  assert.equal(parsed.truncatedLine, 3);
});

Deno.test("parseEpochs rejects a broken line that is not the last, naming it", () => {
  const text = lines(1) + "{broken\n" + lines(1);
  assert.throws(() => parseEpochs(text, "x.jsonl"), /x\.jsonl:2: not a JSON record/);
});

Deno.test("parseEpochs rejects records of another version", () => {
  assert.throws(
    () => parseEpochs('{"v":9,"apps":[]}\n{"v":1}\n'),
    /:1: not an epoch record of version 1/,
  );
});
