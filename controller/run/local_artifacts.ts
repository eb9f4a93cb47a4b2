/**
 * What deploy ships, prepared on the controller's machine once and cached there, so that each
 * `spirit run`, `check` or `down` does not bundle the host CLI again (a `deno bundle` takes
 * seconds) nor hash the 95 MB Deno binary again:
 *
 * - the bundle of host/cli.ts is kept under a key that hashes every source file of this
 *   checkout (`.ts`, `.js`, `.json`, `.lock`, outside dot-directories, node_modules and
 *   results) and the Deno version: any change to the sources makes a new bundle;
 * - the runtime's sha256 is kept with the binary's path, inode, size, modification and change
 *   times, and hashed again when any of them changes.
 *
 * The cache is `$XDG_CACHE_HOME/spirit/controller` (or `~/.cache/spirit/controller`, or
 * `$TMPDIR/spirit-controller-<uid>` without HOME), a private directory of the user.
 * @module
 */
import { encodeHex } from "./hex.ts";
import type { Artifact } from "./deploy_cache.ts";

/** Bundles kept in the controller's cache (the most recently used). */
export const KEEP_LOCAL_BUNDLES = 5;

const SOURCE_FILE = /\.(ts|js|mjs|json|jsonc|lock)$/;
const SKIPPED_DIRS = new Set(["node_modules", "results"]);

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  return encodeHex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
}

/** The controller's private cache directory (created mode 0700; refused if not the user's). */
export async function controllerCacheDir(): Promise<string> {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const home = Deno.env.get("HOME");
  const dir = xdg?.startsWith("/")
    ? `${xdg}/spirit/controller`
    : home?.startsWith("/")
    ? `${home}/.cache/spirit/controller`
    : `${Deno.env.get("TMPDIR") || "/tmp"}/spirit-controller-${Deno.uid()}`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await Deno.lstat(dir);
  if (!info.isDirectory || info.uid !== Deno.uid()) {
    throw new Error(`The controller's cache ${dir} is not a directory of uid ${Deno.uid()}`);
  }
  await Deno.chmod(dir, 0o700);
  return dir;
}

/** Paths of the source files under `root`, sorted (see the module documentation). */
async function sourceFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith(".")) continue;
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory && !SKIPPED_DIRS.has(entry.name)) await walk(path);
      else if (entry.isFile && SOURCE_FILE.test(entry.name)) found.push(path);
    }
  };
  await walk(root);
  return found.sort();
}

/** A key for the sources under `root` with this Deno: equal keys give equal bundles. */
export async function sourceKey(root: string): Promise<string> {
  const parts: string[] = [`deno ${Deno.version.deno}`];
  for (const path of await sourceFiles(root)) {
    parts.push(`${path.slice(root.length)}\0${await sha256(await Deno.readFile(path))}`);
  }
  return await sha256(new TextEncoder().encode(parts.join("\n")));
}

/**
 * The bundle of `entry` (a module under `root`), from the cache when the sources did not
 * change, else bundled now with `bundle(outputPath)` and cached; old bundles are pruned.
 */
export async function cachedBundle(
  entry: string,
  options: { root: string; cacheDir: string; bundle: (output: string) => Promise<void> },
): Promise<Artifact> {
  const { root, cacheDir } = options;
  const key = await sourceKey(root);
  const name = entry.slice(root.length).replace(/^\/+/, "").replaceAll("/", "_");
  const path = `${cacheDir}/bundle-${key}-${name}.js`;
  let data: Uint8Array<ArrayBuffer>;
  try {
    data = await Deno.readFile(path);
    const now = new Date();
    await Deno.utime(path, now, now);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    const temporary = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    try {
      await options.bundle(temporary);
      await Deno.rename(temporary, path);
    } finally {
      await Deno.remove(temporary).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    data = await Deno.readFile(path);
    await pruneBundles(cacheDir);
  }
  return { path, sha256: await sha256(data), bytes: data.length };
}

async function pruneBundles(cacheDir: string): Promise<void> {
  const bundles: Array<{ path: string; mtime: number }> = [];
  for await (const entry of Deno.readDir(cacheDir)) {
    if (!entry.isFile || !/^bundle-[0-9a-f]{64}-.*\.js$/.test(entry.name)) continue;
    const path = `${cacheDir}/${entry.name}`;
    bundles.push({ path, mtime: (await Deno.stat(path)).mtime?.getTime() ?? 0 });
  }
  bundles.sort((a, b) => b.mtime - a.mtime);
  for (const old of bundles.slice(KEEP_LOCAL_BUNDLES)) {
    await Deno.remove(old.path).catch((error) => {
      // Another controller pruned it first.
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

interface RuntimeStamp {
  path: string;
  ino: number | null;
  size: number;
  mtimeMs: number | null;
  ctimeMs: number | null;
  sha256: string;
}

/** The Deno binary at `path` with its sha256, hashed only when it changed since last time. */
export async function stampedRuntime(
  path: string,
  options: { cacheDir: string },
): Promise<Artifact> {
  const file = `${options.cacheDir}/runtime.stamp.json`;
  const info = await Deno.stat(path);
  const seen = {
    path,
    ino: info.ino,
    size: info.size,
    mtimeMs: info.mtime?.getTime() ?? null,
    ctimeMs: info.ctime?.getTime() ?? null,
  };
  const known = await Deno.readTextFile(file).then(
    (text) => JSON.parse(text) as RuntimeStamp,
    (error) => {
      if (error instanceof Deno.errors.NotFound || error instanceof SyntaxError) return null;
      throw error;
    },
  );
  const unchanged = known !== null && seen.ino !== null && seen.ctimeMs !== null &&
    (Object.keys(seen) as Array<keyof typeof seen>).every((k) => known[k] === seen[k]);
  if (unchanged) return { path, sha256: known.sha256, bytes: info.size };
  const data = await Deno.readFile(path);
  const digest = await sha256(data);
  const temporary = `${file}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(temporary, JSON.stringify({ ...seen, sha256: digest }), {
    mode: 0o600,
  });
  await Deno.rename(temporary, file);
  return { path, sha256: digest, bytes: data.length };
}
