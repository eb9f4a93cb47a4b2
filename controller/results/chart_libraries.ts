/**
 * The charting libraries inlined into report.html: the minified browser builds of vega,
 * vega-lite and vega-embed (versions pinned in deno.json), read from Deno's npm cache.
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** One inlined library. */
export interface ChartLibrary {
  name: string;
  version: string;
  /** The minified browser build (UMD: defines globals vega, vegaLite, vegaEmbed). */
  code: string;
}

const BUILDS = [
  { name: "vega", file: "build/vega.min.js" },
  { name: "vega-lite", file: "build/vega-lite.min.js" },
  { name: "vega-embed", file: "build/vega-embed.min.js" },
] as const;

/**
 * Never called. Its dynamic imports keep the three packages in the module graph, so Deno
 * downloads them into its npm cache with the rest of spirit and `import.meta.resolve` finds
 * them on disk; the browser builds are then read from there.
 */
export function chartPackageImports(): Promise<unknown>[] {
  return [import("vega"), import("vega-lite"), import("vega-embed")];
}

async function packageRoot(name: string): Promise<{ root: string; version: string }> {
  const resolved = import.meta.resolve(name);
  if (!resolved.startsWith("file:")) {
    throw new Error(
      `The charting package "${name}" is not in Deno's npm cache (resolved to ${resolved}); ` +
        "run `deno install` in the spirit checkout, then retry",
    );
  }
  let dir = dirname(fileURLToPath(resolved));
  for (;;) {
    try {
      const pkg = JSON.parse(await Deno.readTextFile(join(dir, "package.json")));
      if (pkg.name === name) return { root: dir, version: String(pkg.version) };
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`Cannot find the package directory of "${name}" above ${resolved}`);
    }
    dir = parent;
  }
}

/** Reads the minified builds of vega, vega-lite and vega-embed, in load order. */
export async function loadChartLibraries(): Promise<ChartLibrary[]> {
  return await Promise.all(BUILDS.map(async ({ name, file }) => {
    const { root, version } = await packageRoot(name);
    return { name, version, code: await Deno.readTextFile(join(root, file)) };
  }));
}
