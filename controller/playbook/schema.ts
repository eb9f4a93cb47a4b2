/**
 * The zod schema of a playbook as written (human units, optional fields). Parsing it checks
 * shapes and single fields and resolves units; cross-field checks live in validate.ts. Pure.
 * @module
 */
import { z } from "zod";
import { parseCidr } from "../../common/ip_address.ts";
import { parseDurationMs, parseRateBytesPerSec, parseSizeBytes } from "../../common/units.ts";
import { refusedSshOption } from "./ssh_options.ts";
import {
  LOADGEN_DEFAULTS,
  LOADGEN_LIMITS,
  LOADGEN_PROTOCOLS,
  parseServerAddress,
} from "../../loadgen/options.ts";
import {
  DEFAULT_REMOTE_SWAP_PRIORITY,
  DEFAULT_SSH_MAX_PARALLEL,
  POLICIES,
  TRANSPORTS,
} from "./types.ts";

/** A strict object whose unknown-key error lists the accepted field names. */
function strict<T extends z.ZodRawShape>(shape: T) {
  const accepted = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown field${issue.keys.length > 1 ? "s" : ""} ${
          issue.keys.map((k) => `"${k}"`).join(", ")
        } (accepted: ${accepted})`
        : undefined,
  });
}

/** A human-unit field: a string with a unit or a plain number, parsed by `parse`. */
function unit(parse: (text: string | number) => number, example: string) {
  return z.union([z.string(), z.number()], {
    error: () => `expected a string with a unit such as "${example}" or a number`,
  }).transform((value, ctx) => {
    try {
      return parse(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });
}

/** A size such as "512MiB" (bare numbers are bytes). */
export const sizeSchema = unit(parseSizeBytes, "512MiB");
/** A rate such as "1Gbps" or "100MB/s" (bare numbers are bytes/s). */
export const rateSchema = unit(parseRateBytesPerSec, "1Gbps");
/** A duration such as "30s" or "1m30s" (bare numbers are ms). */
export const durationSchema = unit(parseDurationMs, "30s");

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const nameSchema = z.string().regex(NAME, {
  error: "must start with a letter or digit and contain only letters, digits, _ . -",
});
const nonEmpty = z.string().min(1, { error: "must not be empty" });
const noNul = (what: string) =>
  z.string().refine((s) => !s.includes("\0"), { error: `${what} must not contain NUL bytes` });
const argvSchema = z.array(noNul("an argument")).min(1, {
  error: "must hold at least the program to run",
});
const portSchema = z.number().int().min(1).max(65535);
const fraction = z.number().min(0).max(1);
const devicePath = z.string().startsWith("/dev/", { error: 'must be a device path under "/dev/"' });

/** Extra `-o Key=Value` ssh options; the ones in ssh_options.ts are refused, naming the option. */
export const sshOptionsSchema = z.record(
  z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, { error: "must be an ssh option name" }),
  z.string().refine((v) => !/[\n\r\0]/.test(v), { error: "must be a single line" }),
).superRefine((options, ctx) => {
  for (const name of Object.keys(options)) {
    const reason = refusedSshOption(name);
    if (reason !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: `ssh option ${name} is refused: ${reason}`,
      });
    }
  }
});

/** How to reach a host over SSH. */
export const sshSchema = strict({
  host: nonEmpty.refine((h) => !h.startsWith("-") && !/\s/.test(h), {
    error: "must be a host name or address (no spaces, no leading dash)",
  }),
  user: nonEmpty.refine((u) => !u.startsWith("-") && !/[\s@]/.test(u), {
    error: "must be a user name (no spaces, @ or leading dash)",
  }).optional(),
  port: portSchema.optional(),
  identityFile: nonEmpty.optional(),
  knownHostsFile: nonEmpty.optional(),
  strictHostKeyChecking: z.enum(["yes", "accept-new"]).default("yes"),
  connectTimeout: durationSchema.default(10_000),
  options: sshOptionsSchema.default({}),
});

/** A CIDR block such as "10.0.0.0/24" or "fd00::/64", normalised ("10.0.0.5" -> "/32"). */
const cidrSchema = z.string().transform((value, ctx) => {
  try {
    return parseCidr(value).text;
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

const memserverSchema = strict({
  capacity: sizeSchema,
  transport: z.enum(TRANSPORTS).default("auto"),
  // 0 lets the server pick a free port (its ready line tells the controller which).
  port: z.number().int().min(0).max(65535).default(7070),
  address: nonEmpty.optional(),
  rdmaLegacyAllow: z.array(cidrSchema).default([]),
});

const memoryHostSchema = strict({
  role: z.literal("memory"),
  ssh: sshSchema.optional(),
  memserver: memserverSchema,
});

const remoteSwapSchema = strict({
  size: sizeSchema.pipe(z.number().min(1 << 20, { error: "must be at least 1MiB" })),
  priority: z.number().int().min(-1).max(32767, { error: "must be an integer in -1..32767" })
    .default(DEFAULT_REMOTE_SWAP_PRIORITY),
});

const computeHostSchema = strict({
  role: z.literal("compute"),
  ssh: sshSchema.optional(),
  memoryNode: nonEmpty,
  cache: sizeSchema,
  bandwidth: rateSchema,
  remoteSwap: remoteSwapSchema.optional(),
});

/** A host entry, discriminated on `role`. */
export const hostSchema = z.discriminatedUnion("role", [memoryHostSchema, computeHostSchema]);

const kvSettings = {
  zipf: z.number().min(0).max(10).default(0.99),
  valueSize: sizeSchema.pipe(z.number().min(8).max(4096, { error: "must be 8B to 4KiB" }))
    .default(256),
  readRatio: fraction.default(0.95),
  concurrency: z.number().int().min(1).max(1024).default(4),
};

const kvSchema = strict({ kind: z.literal("kv"), dataset: sizeSchema, ...kvSettings });

const streamSchema = strict({ kind: z.literal("stream"), dataset: sizeSchema });

const phasedSchema = strict({
  kind: z.literal("phased"),
  dataset: sizeSchema,
  phases: z.array(strict({ kind: z.enum(["kv", "stream"]), duration: durationSchema }))
    .min(2, { error: "a phased workload needs at least 2 phases" }),
  ...kvSettings,
});

/** A built-in far-memory workload, discriminated on `kind`. */
export const workloadSchema = z.discriminatedUnion("kind", [kvSchema, streamSchema, phasedSchema]);

/** Where a command app's throughput is read from (a cumulative op count), on `kind`. */
export const throughputSchema = z.discriminatedUnion("kind", [
  strict({ kind: z.literal("none") }),
  strict({ kind: z.literal("command"), argv: argvSchema, timeout: durationSchema.optional() }),
  strict({
    kind: z.literal("http"),
    url: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }),
    pattern: nonEmpty.check(checkRegex(1, 1)).optional(),
    timeout: durationSchema.optional(),
  }),
  strict({
    kind: z.literal("log"),
    pattern: nonEmpty.check(checkRegex(0, 1)),
    stream: z.enum(["stdout", "stderr", "both"]).default("stdout"),
    from: z.enum(["app", "driver"]).default("app"),
  }),
]);

/** An integer field within the load generator's accepted range. */
function loadgenInteger(name: keyof typeof LOADGEN_LIMITS, fallback: number) {
  const { min, max } = LOADGEN_LIMITS[name];
  return z.number().int().min(min).max(max).default(fallback);
}

/** spirit's load generator as a driver (`spirit loadgen <protocol> ...`). */
export const loadgenSchema = strict({
  protocol: z.enum(LOADGEN_PROTOCOLS),
  server: nonEmpty.transform((text, ctx) => {
    try {
      return parseServerAddress(text);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  }),
  keys: loadgenInteger("keys", LOADGEN_DEFAULTS.keys),
  valueSize: sizeSchema.pipe(
    z.number().int().min(LOADGEN_LIMITS.valueBytes.min).max(LOADGEN_LIMITS.valueBytes.max, {
      error: "must be 1B to 1MiB",
    }),
  ).default(LOADGEN_DEFAULTS.valueBytes),
  skew: z.number().min(LOADGEN_LIMITS.skew.min).max(LOADGEN_LIMITS.skew.max).default(
    LOADGEN_DEFAULTS.skew,
  ),
  readRatio: fraction.default(LOADGEN_DEFAULTS.readRatio),
  connections: loadgenInteger("connections", LOADGEN_DEFAULTS.connections),
  pipeline: loadgenInteger("pipeline", LOADGEN_DEFAULTS.pipeline),
  fill: z.boolean().default(true),
});

/** A client run beside a command app, outside its cgroup: `argv` or spirit's `loadgen`. */
export const driverSchema = strict({
  argv: argvSchema.optional(),
  loadgen: loadgenSchema.optional(),
  cwd: nonEmpty.optional(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), noNul("a value")).default({}),
}).check((ctx) => {
  if ((ctx.value.argv === undefined) === (ctx.value.loadgen === undefined)) {
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      path: [],
      message: 'needs exactly one of "argv" (any program) or "loadgen" (spirit loadgen)',
    });
  }
});

const commandSchema = strict({
  argv: argvSchema.optional(),
  cwd: nonEmpty.optional(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), noNul("a value")).default({}),
  cgroup: strict({
    path: z.string().startsWith("/", { error: "must start with / (relative to the cgroup mount)" })
      .optional(),
    swapDevice: z.union([devicePath, z.array(devicePath)]).optional(),
  }).default({}),
  driver: driverSchema.optional(),
  // Default: the driver's `ops <n>` lines with a loadgen driver, else none (validate.ts).
  throughput: throughputSchema.optional(),
}).check((ctx) => {
  if ((ctx.value.argv === undefined) === (ctx.value.cgroup.path === undefined)) {
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      path: [],
      message: 'needs exactly one of "argv" (start a program in a new cgroup) or "cgroup.path" ' +
        "(adopt an existing cgroup)",
    });
  }
});

const limitsSchema = strict({
  minCache: sizeSchema.optional(),
  maxCache: sizeSchema.optional(),
  minBandwidth: rateSchema.optional(),
  maxBandwidth: rateSchema.optional(),
});

/** An app entry: exactly one of `workload` or `command`. */
export const appSchema = strict({
  name: nameSchema,
  host: nonEmpty,
  workload: workloadSchema.optional(),
  command: commandSchema.optional(),
  limits: limitsSchema.default({}),
}).check((ctx) => {
  const { workload, command } = ctx.value;
  if ((workload === undefined) === (command === undefined)) {
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      path: [],
      message: 'an app needs exactly one of "workload" (a far-memory workload) or "command" ' +
        "(an unmodified program in a cgroup)",
    });
  }
});

/** A whole playbook as written. */
export const playbookSchema = strict({
  name: nameSchema,
  description: z.string().optional(),
  hosts: z.record(nameSchema, hostSchema).refine((h) => Object.keys(h).length > 0, {
    error: "must define at least one host",
  }),
  apps: z.array(appSchema).min(1, { error: "must define at least one app" }),
  policy: z.enum(POLICIES).default("symbiosis"),
  epoch: durationSchema.default(5_000),
  duration: z.union([z.literal("forever"), durationSchema]).default("forever"),
  warmup: durationSchema.default(0),
  output: nonEmpty.default("results"),
  seed: z.number().int().min(0).default(1),
  /** How the controller uses SSH on all hosts. */
  ssh: strict({
    maxParallel: z.number().int().min(1).max(4096).default(DEFAULT_SSH_MAX_PARALLEL),
  }).default({ maxParallel: DEFAULT_SSH_MAX_PARALLEL }),
});

/** A playbook as written in a playbook file (the argument of `definePlaybook`). */
export type PlaybookSpec = z.input<typeof playbookSchema>;
/** A playbook after schema parsing, before cross-field checks. */
export type ParsedPlaybook = z.output<typeof playbookSchema>;

/** A check that a string is a regular expression with `min` to `max` capture groups. */
function checkRegex(min: number, max: number) {
  return (ctx: z.core.ParsePayload<string>): void => {
    let groups: number;
    try {
      groups = (new RegExp(`${ctx.value}|`).exec("")?.length ?? 1) - 1;
    } catch (error) {
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `is not a valid regular expression: ${(error as Error).message}`,
      });
      return;
    }
    if (groups < min || groups > max) {
      const wanted = min === max ? `exactly ${min}` : `${min} to ${max}`;
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `must have ${wanted} capture group${
          max === 1 ? "" : "s"
        } (the op count), found ${groups}`,
      });
    }
  };
}
