/**
 * System-test prerequisites. Outside CI a test whose prerequisite is missing is ignored (and
 * says why); in CI (`CI=true`) it runs and fails with the missing prerequisite named, because a
 * CI machine is expected to have everything the tests need.
 * @module
 */

/** True when running under CI (`CI=true`). */
export const IN_CI = Deno.env.get("CI") === "true";

/** One named, synchronously checkable prerequisite of a system test. */
export interface Prerequisite {
  readonly name: string;
  readonly available: () => boolean;
}

/** The test process runs as root. */
export const ROOT: Prerequisite = {
  name: "root privileges",
  available: () => Deno.uid() === 0,
};

/** A command is on PATH. */
export function commandOnPath(command: string): Prerequisite {
  return {
    name: `command "${command}" on PATH`,
    available: () =>
      (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
        try {
          return Deno.statSync(`${dir}/${command}`).isFile;
        } catch {
          return false;
        }
      }),
  };
}

/** A file or directory exists. */
export function pathExists(path: string): Prerequisite {
  return {
    name: `path ${path}`,
    available: () => {
      try {
        Deno.statSync(path);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/**
 * Registers a test that needs system prerequisites.
 * @example systemTest("agent swaps under a cgroup limit", [ROOT], async () => { ... })
 */
export function systemTest(
  name: string,
  requires: readonly Prerequisite[],
  fn: (t: Deno.TestContext) => void | Promise<void>,
  options: Omit<Deno.TestDefinition, "name" | "fn" | "ignore"> = {},
): void {
  const missing = requires.filter((p) => !p.available()).map((p) => p.name);
  if (missing.length > 0 && !IN_CI) {
    Deno.test({ ...options, name: `${name} (needs ${missing.join(", ")})`, ignore: true, fn });
    return;
  }
  Deno.test({
    ...options,
    name,
    fn: (t) => {
      if (missing.length > 0) {
        throw new Error(`Missing test prerequisite in CI: ${missing.join(", ")}`);
      }
      return fn(t);
    },
  });
}
