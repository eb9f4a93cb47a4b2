/**
 * The run's directory on each host (`/tmp/spirit-<run id>/`): created private (or the run refuses
 * before anything is written into it), the memory servers' secret written into it, removed at
 * teardown.
 * @module
 */
import type { Connector } from "../connectors/types.ts";

/** The host directory exists but is not private to the user; nothing was written into it. */
export class HostDirError extends Error {
  readonly host: string;
  readonly path: string;
  constructor(host: string, path: string, problem: string) {
    super(
      `Run directory ${path} on ${host} ${problem}; expected a directory owned by the SSH ` +
        "user with mode 0700. Refusing to write the run's secret there (remove it if it is stale).",
    );
    this.name = "HostDirError";
    this.host = host;
    this.path = path;
  }
}

/** The script's `$0` (how a simulated host recognises the command). */
export const HOST_DIR_SCRIPT_NAME = "spirit-host-dir";

// mkdir without -p: an existing path is then checked, never reused as it is.
const SCRIPT = 'umask 077; mkdir -m 700 -- "$1" 2>/dev/null; ' +
  'if [ -L "$1" ]; then echo symlink; exit 0; fi; ' +
  'if [ ! -d "$1" ]; then echo notdir; exit 0; fi; ' +
  'printf "%s %s %s\\n" "$(id -u)" "$(stat -c %u -- "$1")" "$(stat -c %a -- "$1")"';

/**
 * Creates the run directory `path` on the host with mode 0700, or checks the one that exists:
 * it must be a directory (not a symbolic link) owned by the user, with mode 0700.
 * @throws {HostDirError} naming the path and what is wrong (owner, mode, symlink).
 */
export async function createPrivateHostDir(connector: Connector, path: string): Promise<void> {
  if (!path.startsWith("/") || path.split("/").includes("..")) {
    throw new RangeError(
      `Invalid run directory ${JSON.stringify(path)}: expected an absolute path`,
    );
  }
  const result = await connector.exec(["sh", "-c", SCRIPT, HOST_DIR_SCRIPT_NAME, path]);
  const answer = result.stdout.trim();
  if (answer === "symlink") throw new HostDirError(connector.host, path, "is a symbolic link");
  if (answer === "notdir") {
    throw new HostDirError(connector.host, path, "exists and is not a directory");
  }
  const [uid, owner, mode] = answer.split(" ");
  if (uid === undefined || owner === undefined || mode === undefined) {
    throw new Error(`Checking run directory ${path} on ${connector.host}: unexpected "${answer}"`);
  }
  if (owner !== uid) {
    throw new HostDirError(connector.host, path, `is owned by uid ${owner}, not uid ${uid}`);
  }
  if (mode !== "700") throw new HostDirError(connector.host, path, `has mode 0${mode}`);
}

/** The secret's file inside a host directory. */
export function tokenFileOf(hostDir: string): string {
  return `${hostDir}/memserver.token`;
}

/** Creates the host directory (mode 0700) and writes the secret into it (mode 0600). */
export async function prepareHostDir(
  connector: Connector,
  { hostDir, secret }: { hostDir: string; secret: string },
): Promise<void> {
  await createPrivateHostDir(connector, hostDir);
  await connector.exec(["sh", "-c", 'umask 077 && cat > "$1"', "sh", tokenFileOf(hostDir)], {
    stdin: secret + "\n",
  });
}

/** Removes the host directory; never throws (teardown goes on). */
export async function removeHostDir(connector: Connector, hostDir: string): Promise<void> {
  await connector.exec(["rm", "-rf", hostDir], { check: false }).catch(() => undefined);
}
