/**
 * Scenario files for `spirit allocate`: nodes, apps with performance models and limits.
 * Validation names the JSON path of every problem. Pure.
 * @module
 */
import { z } from "zod";
import type { AppLimits, Bundle, MarketApp, NodeMarket } from "./market.ts";
import { buildModel, type ModelSpec } from "./model.ts";

/** A scenario file failed validation; `issues` lists each problem with its JSON path. */
export class ScenarioError extends Error {
  readonly issues: readonly string[];
  constructor(issues: readonly string[], options?: ErrorOptions) {
    super(`Invalid scenario:\n${issues.map((i) => `  ${i}`).join("\n")}`, options);
    this.name = "ScenarioError";
    this.issues = issues;
  }
}

const positive = (what: string) =>
  z.number({ error: `${what} must be a number` }).finite().positive({
    error: `${what} must be greater than zero`,
  });
const nonNegative = (what: string) =>
  z.number({ error: `${what} must be a number` }).finite().nonnegative({
    error: `${what} must not be negative`,
  });

const limitsSchema = z.strictObject({
  minCacheMiB: nonNegative("minCacheMiB").optional(),
  maxCacheMiB: nonNegative("maxCacheMiB").optional(),
  minBandwidthMbps: nonNegative("minBandwidthMbps").optional(),
  maxBandwidthMbps: nonNegative("maxBandwidthMbps").optional(),
});

const curvePoint = z.tuple([
  nonNegative("cache MiB"),
  nonNegative("miss ratio").max(1, {
    error: "miss ratio must be at most 1",
  }),
]);

const mrcSchema = z.strictObject({
  kind: z.literal("mrc"),
  missRatio: z.array(curvePoint).min(1, { error: "missRatio must have at least one point" }),
  maxOpsPerSec: positive("maxOpsPerSec"),
  latencyRatio: nonNegative("latencyRatio").optional(),
  pageBytes: positive("pageBytes").optional(),
}).superRefine((spec, ctx) => {
  spec.missRatio.forEach(([cache, ratio], k) => {
    const previous = spec.missRatio[k - 1];
    if (previous === undefined) return;
    if (cache <= previous[0]) {
      ctx.addIssue({
        code: "custom",
        path: ["missRatio", k, 0],
        message: `cache sizes must be strictly ascending (${cache} after ${previous[0]})`,
      });
    }
    if (ratio > previous[1]) {
      ctx.addIssue({
        code: "custom",
        path: ["missRatio", k, 1],
        message: `miss ratio must not increase with cache (${ratio} after ${previous[1]})`,
      });
    }
  });
});

const constantSchema = z.strictObject({
  kind: z.literal("constant"),
  opsPerSec: nonNegative("opsPerSec"),
});

const unknownSchema = z.strictObject({
  kind: z.literal("unknown"),
  opsPerSec: nonNegative("opsPerSec").optional(),
  reason: z.string().optional(),
});

const gridSchema = z.strictObject({
  kind: z.literal("grid"),
  cacheMiB: z.array(nonNegative("cacheMiB")).min(1),
  bandwidthMbps: z.array(nonNegative("bandwidthMbps")).min(1),
  opsPerSec: z.array(z.array(nonNegative("opsPerSec"))),
}).superRefine((spec, ctx) => {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: "custom", path, message });
  for (const axis of ["cacheMiB", "bandwidthMbps"] as const) {
    spec[axis].forEach((v, k) => {
      const previous = spec[axis][k - 1];
      if (previous !== undefined && v <= previous) {
        issue([axis, k], `values must be strictly ascending (${v} after ${previous})`);
      }
    });
  }
  if (spec.opsPerSec.length !== spec.cacheMiB.length) {
    issue(["opsPerSec"], `must have one row per cacheMiB value (${spec.cacheMiB.length})`);
  }
  spec.opsPerSec.forEach((row, i) => {
    if (row.length !== spec.bandwidthMbps.length) {
      issue(
        ["opsPerSec", i],
        `must have one value per bandwidthMbps value (${spec.bandwidthMbps.length})`,
      );
      return;
    }
    row.forEach((v, j) => {
      const left = row[j - 1];
      const below = spec.opsPerSec[i - 1]?.[j];
      if (left !== undefined && v < left) {
        issue(
          ["opsPerSec", i, j],
          `throughput must not fall as bandwidth grows (${v} after ${left})`,
        );
      }
      if (below !== undefined && v < below) {
        issue(["opsPerSec", i, j], `throughput must not fall as cache grows (${v} after ${below})`);
      }
    });
  });
});

const modelSchema = z.discriminatedUnion(
  "kind",
  [mrcSchema, constantSchema, gridSchema, unknownSchema],
  {
    error: (issue) =>
      issue.code === "invalid_union"
        ? `unknown model kind ${JSON.stringify((issue.input as { kind?: unknown })?.kind)}; ` +
          `expected "mrc", "constant", "grid" or "unknown"`
        : undefined,
  },
);

const bundleSchema = z.strictObject({
  cacheMiB: nonNegative("cacheMiB"),
  bandwidthMbps: nonNegative("bandwidthMbps"),
});

const scenarioSchema = z.strictObject({
  name: z.string().optional(),
  nodes: z.array(z.strictObject({
    id: z.string().min(1),
    cacheMiB: positive("cacheMiB"),
    bandwidthMbps: positive("bandwidthMbps"),
  })).min(1, { error: "at least one node is required" }),
  limits: limitsSchema.optional(),
  apps: z.array(z.strictObject({
    id: z.string().min(1),
    node: z.string().min(1),
    limits: limitsSchema.optional(),
    model: modelSchema,
    peakDemand: bundleSchema.optional(),
  })).min(1, { error: "at least one app is required" }),
});

/** The scenario as written in JSON. */
export type ScenarioSpec = z.infer<typeof scenarioSchema>;

/** A validated scenario: one market per node, apps in file order within each node. */
export interface Scenario {
  name: string;
  markets: NodeMarket[];
}

/** Formats a JSON path such as ["apps", 1, "model", "kind"] as `apps[1].model.kind`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "(root)" : out;
}

/** Parses scenario JSON text; throws ScenarioError naming the JSON path of each problem. */
export function parseScenario(text: string): Scenario {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError([`(root): not valid JSON: ${(error as Error).message}`], {
      cause: error,
    });
  }
  return validateScenario(json);
}

/** Validates a parsed scenario object; throws ScenarioError naming each problem's path. */
export function validateScenario(json: unknown): Scenario {
  const parsed = scenarioSchema.safeParse(json);
  if (!parsed.success) {
    throw new ScenarioError(
      parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`),
    );
  }
  return buildScenario(parsed.data);
}

function buildScenario(spec: ScenarioSpec): Scenario {
  const issues: string[] = [];
  const nodeIds = new Set<string>();
  spec.nodes.forEach((node, k) => {
    if (nodeIds.has(node.id)) issues.push(`nodes[${k}].id: duplicate node id "${node.id}"`);
    nodeIds.add(node.id);
  });
  const appIds = new Set<string>();
  const markets = new Map<string, NodeMarket & { apps: MarketApp[] }>(
    spec.nodes.map((
      n,
    ) => [n.id, { id: n.id, cacheMiB: n.cacheMiB, bandwidthMbps: n.bandwidthMbps, apps: [] }]),
  );
  spec.apps.forEach((app, k) => {
    const path = `apps[${k}]`;
    if (appIds.has(app.id)) issues.push(`${path}.id: duplicate app id "${app.id}"`);
    appIds.add(app.id);
    const market = markets.get(app.node);
    if (market === undefined) {
      issues.push(
        `${path}.node: unknown node "${app.node}"; known nodes: ${[...nodeIds].join(", ")}`,
      );
      return;
    }
    const limits = resolveLimits(market, { ...spec.limits, ...app.limits });
    if (limits.minCacheMiB > limits.maxCacheMiB) {
      issues.push(
        `${path}.limits: minCacheMiB ${limits.minCacheMiB} is above maxCacheMiB ${limits.maxCacheMiB}`,
      );
    }
    if (limits.minBandwidthMbps > limits.maxBandwidthMbps) {
      issues.push(
        `${path}.limits: minBandwidthMbps ${limits.minBandwidthMbps} is above maxBandwidthMbps ${limits.maxBandwidthMbps}`,
      );
    }
    const marketApp: MarketApp = { id: app.id, model: buildModel(app.model as ModelSpec), limits };
    if (app.peakDemand !== undefined) marketApp.peakDemand = app.peakDemand as Bundle;
    market.apps.push(marketApp);
  });
  for (const [k, node] of spec.nodes.entries()) {
    const market = markets.get(node.id);
    if (market === undefined) continue;
    const minCache = market.apps.reduce((a, app) => a + app.limits.minCacheMiB, 0);
    const minBandwidth = market.apps.reduce((a, app) => a + app.limits.minBandwidthMbps, 0);
    if (minCache > node.cacheMiB) {
      issues.push(
        `nodes[${k}].cacheMiB: the apps' minimum caches add up to ${minCache}, above the capacity ${node.cacheMiB}`,
      );
    }
    if (minBandwidth > node.bandwidthMbps) {
      issues.push(
        `nodes[${k}].bandwidthMbps: the apps' minimum bandwidths add up to ${minBandwidth}, above the capacity ${node.bandwidthMbps}`,
      );
    }
  }
  if (issues.length > 0) throw new ScenarioError(issues);
  return { name: spec.name ?? "scenario", markets: [...markets.values()] };
}

/** Fills absent limits: minima 0, maxima the node's capacity (and never above it). */
export function resolveLimits(
  node: { cacheMiB: number; bandwidthMbps: number },
  limits: { [K in keyof AppLimits]?: number | undefined },
): AppLimits {
  return {
    minCacheMiB: limits.minCacheMiB ?? 0,
    maxCacheMiB: Math.min(limits.maxCacheMiB ?? node.cacheMiB, node.cacheMiB),
    minBandwidthMbps: limits.minBandwidthMbps ?? 0,
    maxBandwidthMbps: Math.min(limits.maxBandwidthMbps ?? node.bandwidthMbps, node.bandwidthMbps),
  };
}
