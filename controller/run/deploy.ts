/**
 * Shipping spirit to a remote host: a `deno bundle` of the CLI plus this Deno binary, copied
 * once per host into `~/.cache/spirit/<content hash>/` and reused while the hash matches.
 * (`deno compile` would give one file, but needs a `denort` download; the bundle does not.)
 * @module
 */
import { encodeHex } from "./hex.ts";
import type { Connector } from "../connectors/types.ts";
import { deployedRuntime, LOCAL_CLI, type SpiritRuntime } from "./runtime.ts";

/** The local files to ship and their content hash. */
export interface Artifacts {
  deno: string;
  bundle: string;
  hash: string;
}

let artifacts: Promise<Artifacts> | undefined;

async function sha256File(path: string): Promise<Uint8Array> {
  const data = await Deno.readFile(path);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

/** Bundles the CLI (once per controller process) and hashes it with the Deno binary. */
export function prepareArtifacts(): Promise<Artifacts> {
  artifacts ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "spirit-bundle-" });
    // The bundle is needed until the last deploy of this process; remove it when it exits.
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch (error) {
        // Someone removed it already; anything else is worth seeing.
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    });
    const bundle = `${dir}/spirit.js`;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform", "deno", "-o", bundle, LOCAL_CLI],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(
        `deno bundle failed: ${new TextDecoder().decode(output.stderr).slice(-2000)}`,
      );
    }
    const hash = new Uint8Array(
      await crypto.subtle.digest(
        "SHA-256",
        new Uint8Array([...await sha256File(bundle), ...await sha256File(Deno.execPath())]),
      ),
    );
    return { deno: Deno.execPath(), bundle, hash: encodeHex(hash).slice(0, 16) };
  })();
  return artifacts;
}

/** Makes sure the host has this run's runtime and bundle; returns how to start spirit there. */
export async function deployRuntime(connector: Connector): Promise<SpiritRuntime> {
  const { deno, bundle, hash } = await prepareArtifacts();
  // One round trip: the cache directory under the remote $HOME, and whether it is complete.
  const probe = await connector.exec([
    "sh",
    "-c",
    'dir="${HOME:-/tmp}/.cache/spirit/$1"; printf "%s\\n" "$dir"; ' +
    'if test -x "$dir/deno" -a -f "$dir/spirit.js"; then echo present; fi',
    "sh",
    hash,
  ]);
  const [dir = "", state] = probe.stdout.split("\n");
  const paths = { deno: `${dir}/deno`, bundle: `${dir}/spirit.js` };
  if (state !== "present") {
    await connector.put(deno, paths.deno, { mode: 0o755 });
    await connector.put(bundle, paths.bundle, { mode: 0o644 });
  }
  return deployedRuntime(paths);
}
