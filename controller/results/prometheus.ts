/**
 * The Prometheus text exposition format, version 0.0.4: `# HELP` and `# TYPE` lines, then one
 * line per sample, `name{label="value",...} value`, with label values and help text escaped.
 * Pure.
 * @module
 */

/** The Content-Type of the format. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Metric types spirit exposes. */
export type MetricType = "gauge" | "counter";

/** One sample: its labels (in the order given) and value. */
export interface MetricSample {
  labels?: Readonly<Record<string, string>>;
  value: number;
}

/** A metric family: every sample of one metric name. */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: readonly MetricSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** A sample value as the format writes it (NaN, +Inf, -Inf for the special values). */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function sampleLine(name: string, sample: MetricSample): string {
  const labels = Object.entries(sample.labels ?? {});
  for (const [label] of labels) {
    if (!LABEL_NAME.test(label) || label.startsWith("__")) {
      throw new TypeError(`Invalid label name "${label}" on metric ${name}`);
    }
  }
  const text = labels.length === 0
    ? ""
    : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
  return `${name}${text} ${formatSampleValue(sample.value)}\n`;
}

/**
 * The exposition of `families`, in the order given. Families without samples still get their
 * HELP and TYPE lines.
 * @example encodeExposition([{ name: "up", help: "Up.", type: "gauge", samples: [{ value: 1 }] }])
 * // "# HELP up Up.\n# TYPE up gauge\nup 1\n"
 */
export function encodeExposition(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  return families.map((family) => {
    const { name, type } = family;
    if (!METRIC_NAME.test(name)) throw new TypeError(`Invalid metric name "${name}"`);
    if (seen.has(name)) throw new TypeError(`Metric ${name} is listed twice`);
    seen.add(name);
    if (type === "counter" && !name.endsWith("_total")) {
      throw new TypeError(`Counter ${name} must be named *_total`);
    }
    return `# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} ${type}\n` +
      family.samples.map((s) => sampleLine(name, s)).join("");
  }).join("");
}
