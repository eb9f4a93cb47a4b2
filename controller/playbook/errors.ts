/**
 * The error a playbook that fails validation throws: every problem at once, each with the
 * field path. Pure.
 * @module
 */

/** One problem in a playbook: where (a field path such as `apps[1].host`) and what. */
export interface PlaybookIssue {
  path: string;
  message: string;
}

/** A playbook failed validation; `issues` lists every problem found. */
export class PlaybookError extends Error {
  override name = "PlaybookError";
  /** Every problem found, in field order. */
  readonly issues: readonly PlaybookIssue[];
  /** Where the playbook came from (a file path or the playbook name), for the message. */
  readonly source: string;

  /** Builds the error; the message lists every issue on its own line. */
  constructor(source: string, issues: readonly PlaybookIssue[], options?: ErrorOptions) {
    const lines = issues.map((i) => `  ${i.path === "" ? "(playbook)" : i.path}: ${i.message}`);
    super(
      `Invalid playbook ${source}: ${issues.length} problem${issues.length === 1 ? "" : "s"}\n${
        lines.join("\n")
      }`,
      options,
    );
    this.issues = issues;
    this.source = source;
  }
}

/** Formats a path of keys and indices as `hosts.cn1.ssh.port` / `apps[0].name`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const key of path) {
    if (typeof key === "number") text += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      text += text === "" ? key : `.${key}`;
    } else text += `[${JSON.stringify(String(key))}]`;
  }
  return text;
}
