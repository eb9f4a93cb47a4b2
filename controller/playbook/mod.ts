/**
 * Playbooks: types, validation, `definePlaybook`, the loader and command-line overrides.
 * @module
 */
export * from "./types.ts";
export { PlaybookError, type PlaybookIssue } from "./errors.ts";
export type { PlaybookSpec } from "./schema.ts";
export { crossCheck, datasetBytes, validatePlaybook } from "./validate.ts";
export {
  definePlaybook,
  isDefinedPlaybook,
  type PlaybookRunner,
  runAsMain,
  setPlaybookRunner,
} from "./define.ts";
export { applyOverrides, type PlaybookOverrides } from "./overrides.ts";
export { loadPlaybook } from "./load.ts";
