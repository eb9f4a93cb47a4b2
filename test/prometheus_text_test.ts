/**
 * The strict exposition parser the metrics tests use (test/fixtures/prometheus_text.ts).
 * @module
 */
import assert from "node:assert/strict";
import { parseExposition, sampleValue } from "./fixtures/prometheus_text.ts";

Deno.test("parseExposition reads families, escaped labels, special values and timestamps", () => {
  const families = parseExposition(
    "# HELP a_total Things\\\\ done.\\n\n# TYPE a_total counter\n" +
      'a_total{k="x\\"y\\\\z\\n",j="2"} 3 1700000000000\n' +
      "# some comment\n\n" +
      "# TYPE b gauge\nb NaN\n# TYPE c gauge\nc{} -Inf\n",
  );
  assert.deepEqual([...families.keys()], ["a_total", "b", "c"]);
  assert.equal(families.get("a_total")?.help, "Things\\ done.\n");
  assert.deepEqual(families.get("a_total")?.samples, [
    { labels: { k: 'x"y\\z\n', j: "2" }, value: 3 },
  ]);
  assert.ok(Number.isNaN(families.get("b")?.samples[0]?.value));
  assert.equal(sampleValue(families, "c"), -Infinity);
  assert.equal(sampleValue(families, "a_total", { j: "2" }), 3);
  assert.throws(() => sampleValue(families, "a_total", { j: "3" }), /0 samples of a_total/);
});

Deno.test("parseExposition refuses what the format does not allow", () => {
  const refused: Array<[string, RegExp]> = [
    ["# TYPE a gauge\na 1", /end in a newline/],
    ["a 1\n", /before its TYPE line/],
    ["# TYPE a gauge\n# TYPE a gauge\n", /second TYPE/],
    ["# HELP a x\n# HELP a y\n", /second HELP/],
    ["# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na 2\n", /not contiguous/],
    ["# TYPE a gauge\na 1\na 2\n", /series repeated/],
    ['# TYPE a gauge\na{x="1",x="2"} 1\n', /label x repeated/],
    ['# TYPE a gauge\na{x="\\t"} 1\n', /invalid escape \\t/],
    ['# TYPE a gauge\na{x="1"\n', /unterminated|expected/],
    ["# TYPE a gauge\na{x=1} 1\n", /not quoted/],
    ['# TYPE a gauge\na{1x="1"} 1\n', /invalid label name/],
    ["# TYPE a gauge\na one\n", /invalid value "one"/],
    ["# TYPE a gauge\na 1 2 3\n", /value \[timestamp\]/],
    ["# TYPE a_total counter\na_total -1\n", /counter a_total is -1/],
    ["# TYPE a weird\n", /unknown type "weird"/],
    ["# TYPE 9a gauge\n", /invalid metric name/],
  ];
  for (const [text, error] of refused) {
    assert.throws(() => parseExposition(text), error, JSON.stringify(text));
  }
});
