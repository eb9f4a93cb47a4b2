/**
 * Validation of agent protocol requests (pure: zod only). The agent parses every request line
 * with {@link parseAgentRequest} before acting, so bad input is answered with a message naming
 * the field path, and never half-applied.
 * @module
 */
import { z } from "zod";
import { type AgentRequest, APP_ID_PATTERN } from "./protocol.ts";

const nonNegative = z.number().finite().nonnegative();
const appId = z.string().regex(APP_ID_PATTERN, "app ids are 1-64 of A-Z a-z 0-9 _ . -");
const argv = z.array(z.string()).min(1, "argv needs at least the program");
const allocation = z.object({
  cacheBytes: nonNegative,
  bandwidthBytesPerSec: nonNegative,
});
const regex = z.string().refine((text) => {
  try {
    new RegExp(text);
    return true;
  } catch (_error) {
    return false;
  }
}, "not a valid regular expression");
const timeoutMs = z.number().int().positive().exactOptional();

const throughput = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("none") }),
  z.object({ kind: z.literal("command"), argv, timeoutMs }),
  z.object({
    kind: z.literal("http"),
    url: z.url({ protocol: /^https?$/ }),
    pattern: regex.exactOptional(),
    timeoutMs,
  }),
  z.object({
    kind: z.literal("log"),
    pattern: regex,
    stream: z.enum(["stdout", "stderr", "both"]).exactOptional(),
    from: z.enum(["app", "driver"]).exactOptional(),
  }),
]);

const launchBase = {
  appId,
  allocation,
  env: z.record(z.string(), z.string()).exactOptional(),
  cwd: z.string().min(1).exactOptional(),
};
const swapDevices = z.array(z.string().startsWith("/"))
  .min(1, "name at least one device, or omit swapDevices for the node's default")
  .exactOptional();

const processOptions = {
  env: z.record(z.string(), z.string()).exactOptional(),
  cwd: z.string().min(1).exactOptional(),
};
const driver = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("argv"), argv, ...processOptions }),
  z.object({ kind: z.literal("spirit"), args: z.array(z.string()).min(1), ...processOptions }),
]).exactOptional();

/** A `log` source reading the driver's output needs a driver. */
function driverLogNeedsDriver(
  spec: { driver?: unknown; throughput?: z.infer<typeof throughput> },
  ctx: z.core.$RefinementCtx,
): void {
  if (
    spec.throughput?.kind === "log" && spec.throughput.from === "driver" &&
    spec.driver === undefined
  ) {
    ctx.addIssue({
      code: "custom",
      path: ["throughput", "from"],
      message: 'reads the driver\'s output, but the app has no "driver"',
    });
  }
}

const launch = z.discriminatedUnion("enforcement", [
  z.object({
    ...launchBase,
    enforcement: z.literal("farmem"),
    program: z.discriminatedUnion("kind", [
      z.object({
        kind: z.literal("workload"),
        workload: z.string().min(1),
        args: z.array(z.string()),
      }),
      z.object({ kind: z.literal("argv"), argv }),
    ]),
  }),
  z.object({
    ...launchBase,
    enforcement: z.literal("cgroup"),
    argv,
    throughput: throughput.exactOptional(),
    swapDevices,
    driver,
  }).superRefine(driverLogNeedsDriver),
  z.object({
    ...launchBase,
    enforcement: z.literal("cgroup-existing"),
    path: z.string().startsWith("/").refine((p) => !p.split("/").includes(".."), "no .. in paths"),
    throughput: throughput.exactOptional().refine(
      (source) => source?.kind !== "log" || source.from === "driver",
      "an adopted cgroup's output is not the agent's to read: use a command or http source, " +
        'or a log source from its driver (from: "driver")',
    ),
    swapDevices,
    driver,
  }).superRefine(driverLogNeedsDriver),
]);

const id = z.number().int().nonnegative();

const request = z.discriminatedUnion("op", [
  z.object({
    id,
    op: z.literal("hello"),
    protocolVersion: z.number().int(),
    client: z.string().exactOptional(),
    sampleEvents: z.boolean().exactOptional(),
  }),
  z.object({ id, op: z.literal("facts") }),
  z.object({ id, op: z.literal("launch"), app: launch }),
  z.object({ id, op: z.literal("set-allocation"), appId, allocation }),
  z.object({
    id,
    op: z.literal("set-allocations"),
    shrinks: z.array(z.object({ appId, allocation })),
    grows: z.array(z.object({ appId, allocation })),
  }),
  z.object({
    id,
    op: z.literal("samples"),
    sinceSeq: z.number().int().exactOptional(),
    appIds: z.array(appId).exactOptional(),
    fresh: z.boolean().exactOptional(),
  }),
  z.object({ id, op: z.literal("list") }),
  z.object({
    id,
    op: z.literal("stop"),
    appId,
    graceMs: z.number().int().nonnegative().exactOptional(),
  }),
  z.object({ id, op: z.literal("teardown"), shutdown: z.boolean().exactOptional() }),
  z.object({
    id,
    op: z.literal("remote-swap-up"),
    memserver: z.string().regex(/^\[?[^\s\]]+\]?:[0-9]{1,5}$/, "HOST:PORT"),
    tokenFile: z.string().startsWith("/"),
    sizeBytes: z.number().int().min(1 << 20, "at least 1 MiB"),
    transport: z.enum(["tcp", "rdma", "auto"]).exactOptional(),
    priority: z.number().int().min(-1).max(32767).exactOptional(),
    writeCapBytesPerSec: nonNegative.exactOptional(),
  }),
  z.object({
    id,
    op: z.literal("remote-swap-set-write-cap"),
    bytesPerSec: nonNegative.nullable(),
  }),
  z.object({ id, op: z.literal("remote-swap-down") }),
]);

// Compile-time check that the schema produces exactly the protocol's request type.
const _sameType: z.ZodType<AgentRequest> = request;

/** Outcome of parsing one request line. */
export type ParsedRequest =
  | { ok: true; request: AgentRequest }
  | { ok: false; id: number | null; message: string };

/** Parses and validates one JSON request line. */
export function parseAgentRequest(line: string): ParsedRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return {
      ok: false,
      id: null,
      message: `Request is not valid JSON: ${(error as Error).message}`,
    };
  }
  const parsed = request.safeParse(value);
  if (parsed.success) return { ok: true, request: parsed.data };
  const rawId = typeof value === "object" && value !== null && "id" in value ? value.id : null;
  const message = parsed.error.issues
    .map((issue) =>
      `${issue.path.length > 0 ? issue.path.join(".") : "(request)"}: ${issue.message}`
    )
    .join("; ");
  return {
    ok: false,
    id: typeof rawId === "number" ? rawId : null,
    message: `Invalid request: ${message}`,
  };
}
