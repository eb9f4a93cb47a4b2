/**
 * Starting app processes. An unmodified command must be inside its cgroup before its first
 * instruction, and must die if the agent dies; Deno cannot run code between fork and exec, so
 * the child runs a fixed `/bin/sh` trampoline (argv only, no string building) that writes its
 * pid to each cgroup.procs file and execs the command, under util-linux `setpriv --pdeathsig
 * KILL` (prctl(PR_SET_PDEATHSIG) in the child, kept across exec).
 * @module
 */

const TRAMPOLINE =
  'while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do echo "$$" > "$1" || exit 125; shift; done; shift; exec "$@"';

const SETPRIV_PATHS = ["/usr/bin/setpriv", "/bin/setpriv"];
let setprivPath: string | null | undefined;

function findSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  for (const path of SETPRIV_PATHS) {
    try {
      if (Deno.statSync(path).isFile) {
        setprivPath = path;
        break;
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return setprivPath;
}

/** The argv that runs `argv` inside the cgroups of `procsFiles`, killed when the agent dies (pure given setpriv). */
export function trampolineArgv(
  argv: readonly string[],
  options: { procsFiles: readonly string[]; setpriv: string | null },
): string[] {
  const { procsFiles, setpriv } = options;
  const inner = ["/bin/sh", "-c", TRAMPOLINE, "spirit-launch", ...procsFiles, "--", ...argv];
  return setpriv === null ? inner : [setpriv, "--pdeathsig", "KILL", "--", ...inner];
}

/** How to start an app process. */
export interface SpawnOptions {
  /** cgroup.procs files the process joins before exec (none for far-memory apps). */
  procsFiles?: readonly string[];
  env?: Record<string, string>;
  cwd?: string;
  stdin?: "piped" | "null";
  stdout?: "piped" | "null" | "inherit";
  stderr?: "piped" | "null" | "inherit";
}

/** Starts `argv` as an app process (see the module doc). */
export function spawnApp(argv: readonly string[], options: SpawnOptions = {}): Deno.ChildProcess {
  const [program, ...args] = trampolineArgv(argv, {
    procsFiles: options.procsFiles ?? [],
    setpriv: findSetpriv(),
  });
  if (program === undefined) throw new RangeError("Empty argv");
  return new Deno.Command(program, {
    args,
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdin: options.stdin ?? "null",
    stdout: options.stdout ?? "piped",
    stderr: options.stderr ?? "piped",
  }).spawn();
}

/**
 * Checks that `program` (an argv[0]) can be started: a path (with a `/`, relative to `cwd`)
 * must be an executable file, a bare name must be one in a directory of `path` (PATH). The
 * trampoline's `exec` would otherwise fail only after the launch was reported a success, and
 * the app would seem to crash (status 127) rather than fail to launch.
 * @throws {Error} naming the program and why it cannot run.
 */
export async function assertRunnable(
  program: string,
  options: { cwd?: string; path?: string } = {},
): Promise<void> {
  const executable = async (file: string): Promise<string | null> => {
    try {
      const info = await Deno.stat(file);
      if (!info.isFile) return "is not a file";
      return (info.mode ?? 0o777) & 0o111 ? null : "is not executable";
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "does not exist";
      if (error instanceof Deno.errors.PermissionDenied) return "cannot be read";
      throw error;
    }
  };
  if (program.includes("/")) {
    const file = program.startsWith("/") || options.cwd === undefined
      ? program
      : `${options.cwd}/${program}`;
    const problem = await executable(file);
    if (problem !== null) throw new Error(`Program ${program} ${problem}`);
    return;
  }
  const dirs = (options.path ?? Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  for (const dir of dirs) {
    if (await executable(`${dir}/${program}`) === null) return;
  }
  throw new Error(`Program ${program} is not on PATH (${dirs.join(":")})`);
}

/** Turns a child's exit status into the protocol's AppExit shape. */
export function exitOf(
  status: Deno.CommandStatus,
): { code: number; signal: string | null; atMs: number } {
  return { code: status.code, signal: status.signal ?? null, atMs: Date.now() };
}
