/**
 * The benchmark's C probers: compiled with gcc into a private temporary directory, each printing
 * one JSON report line on stdout.
 * @module
 */

/** A compiled program; `remove()` deletes it. */
export interface CProgram {
  readonly path: string;
  remove(): Promise<void>;
}

/** Compiles `source` (a file beside this module) into `name` (needs gcc and libc6-dev). */
export async function buildCProgram(source: string, name: string): Promise<CProgram> {
  const dir = await Deno.makeTempDir({ prefix: `spirit-${name.replaceAll("_", "-")}-` });
  const path = `${dir}/${name}`;
  const sourcePath = new URL(`./${source}`, import.meta.url).pathname;
  const output = await new Deno.Command("gcc", {
    args: ["-O2", "-Wall", "-o", path, sourcePath],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(`gcc failed to build ${source}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return { path, remove: () => Deno.remove(dir, { recursive: true }) };
}

/** The last line of `stdout` that starts with "{", parsed; `program` names it in the error. */
export function lastJsonLine(stdout: string, program: string): unknown {
  const line = stdout.trim().split("\n").findLast((l) => l.startsWith("{"));
  if (line === undefined) {
    throw new Error(`The ${program} printed no report: ${stdout.slice(-500)}`);
  }
  return JSON.parse(line);
}
