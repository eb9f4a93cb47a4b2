/**
 * `loadPlaybook`: imports a playbook file and returns its validated playbook, with command-line
 * overrides applied. Importing never runs the playbook (see define.ts).
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isDefinedPlaybook, playbookDefinedBy } from "./define.ts";
import { PlaybookError } from "./errors.ts";
import { applyOverrides, type PlaybookOverrides } from "./overrides.ts";
import type { Playbook } from "./types.ts";
import { validatePlaybook } from "./validate.ts";

/**
 * Imports the playbook file at `path` (its default export, or the playbook it defined with
 * `definePlaybook`), validates it and applies `overrides`.
 * @throws {PlaybookError} when the file cannot be imported, defines no playbook, or is invalid.
 * @example const playbook = await loadPlaybook("playbooks/local.ts", { policy: "static" });
 */
export async function loadPlaybook(
  path: string,
  overrides: PlaybookOverrides = {},
): Promise<Playbook> {
  const url = pathToFileURL(resolve(path)).href;
  let module: Record<string, unknown>;
  try {
    module = await import(url);
  } catch (error) {
    if (error instanceof PlaybookError) throw error;
    throw new PlaybookError(path, [{
      path: "",
      message: `cannot import the file: ${error instanceof Error ? error.message : String(error)}`,
    }], { cause: error });
  }
  const exported = module.default;
  let playbook: Playbook;
  if (isDefinedPlaybook(exported)) playbook = exported;
  else if (exported !== undefined) playbook = validatePlaybook(exported, { source: path });
  else {
    const defined = playbookDefinedBy(url);
    if (defined === undefined) {
      throw new PlaybookError(path, [{
        path: "",
        message: "the file defines no playbook: export default definePlaybook({...})",
      }]);
    }
    playbook = defined;
  }
  return applyOverrides(playbook, overrides, { source: path });
}
