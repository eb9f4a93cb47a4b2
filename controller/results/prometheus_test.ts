import assert from "node:assert/strict";
import {
  encodeExposition,
  escapeLabelValue,
  formatSampleValue,
  type MetricFamily,
} from "./prometheus.ts";

Deno.test("encodeExposition writes HELP, TYPE and one line per sample", () => {
  const families: MetricFamily[] = [
    { name: "spirit_up", help: "Whether the run is up.", type: "gauge", samples: [{ value: 1 }] },
    {
      name: "spirit_events_total",
      help: "Events.",
      type: "counter",
      samples: [{ labels: { kind: "fault" }, value: 2 }, {
        labels: { kind: "restart", host: "cn1" },
        value: 0,
      }],
    },
    { name: "spirit_empty", help: "None yet.", type: "gauge", samples: [] },
  ];
  assert.equal(
    encodeExposition(families),
    "# HELP spirit_up Whether the run is up.\n# TYPE spirit_up gauge\nspirit_up 1\n" +
      "# HELP spirit_events_total Events.\n# TYPE spirit_events_total counter\n" +
      'spirit_events_total{kind="fault"} 2\nspirit_events_total{kind="restart",host="cn1"} 0\n' +
      "# HELP spirit_empty None yet.\n# TYPE spirit_empty gauge\n",
  );
});

Deno.test("encodeExposition escapes label values and help text", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const text = encodeExposition([{
    name: "m",
    help: "line one\nback\\slash",
    type: "gauge",
    samples: [{ labels: { app: 'x"}\n' }, value: 0.5 }],
  }]);
  assert.equal(text, '# HELP m line one\\nback\\\\slash\n# TYPE m gauge\nm{app="x\\"}\\n"} 0.5\n');
});

Deno.test("formatSampleValue writes the special values as the format spells them", () => {
  assert.deepEqual([NaN, Infinity, -Infinity, 1e-7, 12].map(formatSampleValue), [
    "NaN",
    "+Inf",
    "-Inf",
    "1e-7",
    "12",
  ]);
});

Deno.test("encodeExposition refuses invalid names, duplicates and counters not named *_total", () => {
  const family = (name: string, extra: Partial<MetricFamily> = {}): MetricFamily => ({
    name,
    help: "h",
    type: "gauge",
    samples: [],
    ...extra,
  });
  assert.throws(() => encodeExposition([family("1bad")]), /Invalid metric name "1bad"/);
  assert.throws(() => encodeExposition([family("a"), family("a")]), /listed twice/);
  assert.throws(
    () => encodeExposition([family("c", { type: "counter" })]),
    /Counter c must be named \*_total/,
  );
  assert.throws(
    () => encodeExposition([family("g", { samples: [{ labels: { "a-b": "x" }, value: 1 }] })]),
    /Invalid label name "a-b" on metric g/,
  );
  assert.throws(
    () => encodeExposition([family("g", { samples: [{ labels: { __x: "x" }, value: 1 }] })]),
    /Invalid label name "__x"/,
  );
});
