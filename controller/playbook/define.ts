/**
 * `definePlaybook`: validates a playbook where it is written, and runs it when the playbook
 * file is the main module (`deno run -A playbooks/x.ts`). Importing the same file from
 * `spirit run` or `loadPlaybook` only validates and registers it, so it never runs twice.
 * The run itself is behind a hook the run loop installs with `setPlaybookRunner`.
 * @module
 */
import { validatePlaybook } from "./validate.ts";
import type { PlaybookSpec } from "./schema.ts";
import type { Playbook } from "./types.ts";

/** What the run loop provides: runs a validated playbook, returns the process exit code. */
export type PlaybookRunner = (
  playbook: Playbook,
  options: { args: readonly string[]; source: string },
) => Promise<number | void>;

let runner: PlaybookRunner | undefined;
const defined = new WeakSet<Playbook>();
const byModule = new Map<string, Playbook>();

/** Installs (or with `undefined` removes) the function that runs a playbook file run as main. */
export function setPlaybookRunner(fn: PlaybookRunner | undefined): void {
  runner = fn;
}

/** True for a playbook returned by `definePlaybook` (already validated). */
export function isDefinedPlaybook(value: unknown): value is Playbook {
  return typeof value === "object" && value !== null && defined.has(value as Playbook);
}

/** The playbook a module defined with `definePlaybook`, by module URL, if any. */
export function playbookDefinedBy(moduleUrl: string): Playbook | undefined {
  return byModule.get(moduleUrl);
}

/**
 * Validates a playbook and returns it with units resolved. When it is called from the top level
 * of the main module (the playbook file given to `deno run`), also runs it (from a microtask, after the module finished evaluating) with the
 * runner set by `setPlaybookRunner`.
 * @throws {PlaybookError} listing every problem with its field path.
 * @example export default definePlaybook({ name: "x", hosts: {...}, apps: [...] });
 */
export function definePlaybook(spec: PlaybookSpec): Playbook {
  const caller = callSite(new Error().stack ?? "");
  const callerUrl = caller?.url ?? "(unknown module)";
  const playbook = registerPlaybook(spec, callerUrl);
  if (caller?.topLevel === true && callerUrl === Deno.mainModule) {
    queueMicrotask(() => {
      runAsMain(playbook, { args: Deno.args, source: callerUrl }).then(
        (code) => {
          Deno.exitCode = code;
        },
        (error: unknown) => {
          console.error(error instanceof Error ? error.message : String(error));
          Deno.exitCode = 1;
        },
      );
    });
  }
  return playbook;
}

/** Validates `spec` and records it as defined by `moduleUrl`. */
export function registerPlaybook(spec: PlaybookSpec, moduleUrl: string): Playbook {
  const playbook = validatePlaybook(spec, { source: sourceName(moduleUrl) });
  defined.add(playbook);
  byModule.set(moduleUrl, playbook);
  return playbook;
}

/**
 * Runs a playbook as the main program through the installed runner; resolves to the exit code.
 * @throws {Error} when no runner is installed.
 */
export async function runAsMain(
  playbook: Playbook,
  options: { args: readonly string[]; source: string },
): Promise<number> {
  if (runner === undefined) {
    throw new Error(
      `Cannot run playbook "${playbook.name}" (${options.source}): no playbook runner is installed. ` +
        "Run it with `deno task spirit run <file>`, or import the run loop (which calls " +
        "setPlaybookRunner) before definePlaybook.",
    );
  }
  const code = await runner(playbook, options);
  return typeof code === "number" ? code : 0;
}

/**
 * The caller of definePlaybook from a stack trace: the first frame outside this file, and
 * whether it is the module's top level (the last frame: nothing called the module body, as
 * opposed to a test or function calling definePlaybook).
 */
export function callSite(stack: string): { url: string; topLevel: boolean } | undefined {
  const here = import.meta.url;
  const frames = stack.split("\n").filter((line) => /^\s+at /.test(line));
  for (const [index, frame] of frames.entries()) {
    const url = /((?:file|https?):\/\/[^\s()]+?):\d+:\d+/.exec(frame)?.[1];
    if (url !== undefined && url !== here) {
      return { url, topLevel: index === frames.length - 1 };
    }
  }
  return undefined;
}

function sourceName(moduleUrl: string): string {
  return moduleUrl.startsWith("file://") ? new URL(moduleUrl).pathname : moduleUrl;
}
