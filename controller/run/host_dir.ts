/**
 * The run's directory on each host (`/tmp/spirit-<run id>/`): created private, the memory
 * servers' secret written into it, removed at teardown.
 * @module
 */
import type { Connector } from "../connectors/types.ts";

/** The secret's file inside a host directory. */
export function tokenFileOf(hostDir: string): string {
  return `${hostDir}/memserver.token`;
}

/** Creates the host directory (mode 0700) and writes the secret into it (mode 0600). */
export async function prepareHostDir(
  connector: Connector,
  { hostDir, secret }: { hostDir: string; secret: string },
): Promise<void> {
  await connector.exec(["mkdir", "-p", "-m", "700", hostDir]);
  await connector.exec(["sh", "-c", 'umask 077 && cat > "$1"', "sh", tokenFileOf(hostDir)], {
    stdin: secret + "\n",
  });
}

/** Removes the host directory; never throws (teardown goes on). */
export async function removeHostDir(connector: Connector, hostDir: string): Promise<void> {
  await connector.exec(["rm", "-rf", hostDir], { check: false }).catch(() => undefined);
}
