/**
 * Finding the runs `spirit down` acts on, from their run directories: a run directory names one
 * run; a playbook file names the runs under its output directory whose record names exactly that
 * playbook; a bare name names the runs under a results directory with that run id or playbook
 * name. Each run is read from its own record (run.json, checked by run_info.ts) and the hosts
 * it wrote (playbook.json, checked here), never guessed from directory names on the hosts.
 * @module
 */
import { z } from "zod";
import { sshOptionsSchema } from "../playbook/schema.ts";
import type { SshTarget } from "../playbook/types.ts";
import { parseRunInfo, RUN_INFO_FILE, type RunInfo, RunRecordError } from "./run_info.ts";

/** A host of a recorded run: what `spirit down` needs to reach it. */
export interface RecordedHost {
  name: string;
  role: "compute" | "memory";
  ssh: SshTarget | null;
  /** A compute host whose playbook gave it a remote swap device (`remoteSwap`). */
  remoteSwap: boolean;
}

/** One run to clean up, read from its run directory. */
export interface RecordedRun {
  runDir: string;
  info: RunInfo;
  /** The playbook name the run's own record gives. */
  playbook: string;
  hosts: RecordedHost[];
}

const hostName = z.string().min(1).refine((h) => !h.startsWith("-") && !/\s/.test(h), {
  error: "must be a host name or address (no spaces, no leading dash)",
});
const recordedSsh = z.object({
  host: hostName,
  user: z.string().min(1).refine((u) => !u.startsWith("-") && !/[\s@]/.test(u)).exactOptional(),
  port: z.number().int().min(1).max(65535).exactOptional(),
  identityFile: z.string().min(1).exactOptional(),
  knownHostsFile: z.string().min(1).exactOptional(),
  strictHostKeyChecking: z.enum(["yes", "accept-new"]),
  connectTimeoutMs: z.number().positive(),
  options: sshOptionsSchema,
});
const recordedPlaybook = z.object({
  name: z.string().min(1),
  hosts: z.record(
    z.string(),
    z.looseObject({
      name: z.string().min(1),
      role: z.enum(["compute", "memory"]),
      ssh: recordedSsh.nullable(),
      remoteSwap: z.unknown().optional(),
    }),
  ),
});

function issuesText(error: z.ZodError): string {
  return error.issues.map((issue) =>
    `${issue.path.length > 0 ? issue.path.join(".") : "(file)"}: ${issue.message}`
  ).join("; ");
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new RunRecordError(`${path}: cannot read (${(error as Error).message})`);
  }
}

/** Reads and checks one run directory's record and hosts. @throws {RunRecordError} */
export async function readRun(runDir: string): Promise<RecordedRun> {
  const infoPath = `${runDir}/${RUN_INFO_FILE}`;
  const info = parseRunInfo(await readText(infoPath), infoPath);
  const playbookPath = `${runDir}/playbook.json`;
  let value: unknown;
  try {
    value = JSON.parse(await readText(playbookPath));
  } catch (error) {
    if (error instanceof RunRecordError) throw error;
    throw new RunRecordError(`${playbookPath}: not JSON (${(error as Error).message})`);
  }
  const parsed = recordedPlaybook.safeParse(value);
  if (!parsed.success) throw new RunRecordError(`${playbookPath}: ${issuesText(parsed.error)}`);
  const playbook = info.playbook ?? parsed.data.name;
  if (playbook !== parsed.data.name) {
    throw new RunRecordError(
      `${infoPath}: names playbook "${playbook}" but ${playbookPath} is "${parsed.data.name}"`,
    );
  }
  const hosts = Object.entries(parsed.data.hosts).map(([key, host]): RecordedHost => {
    if (host.name !== key) {
      throw new RunRecordError(`${playbookPath}: hosts.${key}.name is "${host.name}"`);
    }
    const remoteSwap = host.role === "compute" && host.remoteSwap !== undefined &&
      host.remoteSwap !== null;
    return { name: host.name, role: host.role, ssh: host.ssh, remoteSwap };
  });
  return { runDir, info, playbook, hosts };
}

/** Runs found for a target, and run directories whose records were refused (with why). */
export interface FoundRuns {
  runs: RecordedRun[];
  refused: string[];
}

/** The run directories directly under `dir` (those holding a run.json); none when it is absent. */
async function runDirsUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isDirectory) continue;
      const candidate = `${dir}/${entry.name}`;
      const hasRecord = await Deno.stat(`${candidate}/${RUN_INFO_FILE}`).then(
        (s) => s.isFile,
        () => false,
      );
      if (hasRecord) found.push(candidate);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found.sort();
}

/**
 * The runs under `resultsDir` that `select` keeps; unreadable or tampered records are refused
 * (listed with the reason), never acted on.
 */
export async function runsUnder(
  resultsDir: string,
  select: (run: RecordedRun) => boolean,
): Promise<FoundRuns> {
  const found: FoundRuns = { runs: [], refused: [] };
  for (const dir of await runDirsUnder(resultsDir)) {
    try {
      const run = await readRun(dir);
      if (select(run)) found.runs.push(run);
    } catch (error) {
      if (!(error instanceof RunRecordError)) throw error;
      found.refused.push(error.message);
    }
  }
  return found;
}

/** The runs of the playbook named `playbook` under `resultsDir` (exact name, no prefix match). */
export function runsOfPlaybook(resultsDir: string, playbook: string): Promise<FoundRuns> {
  return runsUnder(resultsDir, (run) => run.playbook === playbook);
}

/** The runs under `resultsDir` whose run id or playbook name is exactly `name`. */
export function runsNamed(resultsDir: string, name: string): Promise<FoundRuns> {
  return runsUnder(resultsDir, (run) => run.info.runId === name || run.playbook === name);
}
