import assert from "node:assert/strict";
import { encodeHex } from "./hex.ts";
import { cachedBundle, KEEP_LOCAL_BUNDLES, sourceKey, stampedRuntime } from "./local_artifacts.ts";

async function withDirs(fn: (root: string, cache: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "spirit-sources-" });
  const cache = await Deno.makeTempDir({ prefix: "spirit-controller-cache-" });
  try {
    await Deno.mkdir(`${root}/host`);
    await Deno.writeTextFile(`${root}/host/cli.ts`, "console.log(1);\n");
    await Deno.writeTextFile(`${root}/deno.json`, "{}\n");
    await fn(root, cache);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(cache, { recursive: true });
  }
}

async function sha256Of(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return encodeHex(new Uint8Array(digest));
}

/** A stand-in for `deno bundle` that counts its calls. */
function fakeBundler(calls: string[]) {
  return async (output: string) => {
    calls.push(output);
    await Deno.writeTextFile(output, `// bundle ${calls.length}\n`);
  };
}

Deno.test("sourceKey changes with any source file, not with results or dot-directories", async () => {
  await withDirs(async (root) => {
    const first = await sourceKey(root);
    await Deno.mkdir(`${root}/results`);
    await Deno.writeTextFile(`${root}/results/x.json`, "{}");
    await Deno.mkdir(`${root}/.git`);
    await Deno.writeTextFile(`${root}/.git/y.ts`, "");
    await Deno.writeTextFile(`${root}/README.md`, "words");
    assert.equal(await sourceKey(root), first);
    await Deno.writeTextFile(`${root}/host/cli.ts`, "console.log(2);\n");
    assert.notEqual(await sourceKey(root), first);
  });
});

Deno.test("cachedBundle bundles once per version of the sources", async () => {
  await withDirs(async (root, cacheDir) => {
    const calls: string[] = [];
    const options = { root, cacheDir, bundle: fakeBundler(calls) };
    const first = await cachedBundle(`${root}/host/cli.ts`, options);
    const again = await cachedBundle(`${root}/host/cli.ts`, options);
    assert.equal(calls.length, 1);
    assert.deepEqual(again, first);
    assert.equal(await Deno.readTextFile(first.path), "// bundle 1\n");
    await Deno.writeTextFile(`${root}/host/extra.ts`, "export const x = 1;\n");
    const changed = await cachedBundle(`${root}/host/cli.ts`, options);
    assert.equal(calls.length, 2);
    assert.notEqual(changed.sha256, first.sha256);
  });
});

Deno.test("cachedBundle keeps only the most recent bundles", async () => {
  await withDirs(async (root, cacheDir) => {
    const calls: string[] = [];
    for (let i = 0; i <= KEEP_LOCAL_BUNDLES; i++) {
      await Deno.writeTextFile(`${root}/host/v.ts`, `export const v = ${i};\n`);
      await cachedBundle(`${root}/host/cli.ts`, { root, cacheDir, bundle: fakeBundler(calls) });
      const past = new Date(Date.now() - (KEEP_LOCAL_BUNDLES - i + 1) * 60_000);
      const newest = [...Deno.readDirSync(cacheDir)].map((e) => `${cacheDir}/${e.name}`)
        .filter((p) => p.endsWith(".js")).sort((a, b) =>
          (Deno.statSync(b).mtime?.getTime() ?? 0) - (Deno.statSync(a).mtime?.getTime() ?? 0)
        )[0];
      // Spread the modification times so the order is clear at any clock resolution.
      if (newest !== undefined) await Deno.utime(newest, past, past);
    }
    const kept = [...Deno.readDirSync(cacheDir)].filter((e) => e.name.endsWith(".js"));
    assert.equal(calls.length, KEEP_LOCAL_BUNDLES + 1);
    assert.equal(kept.length, KEEP_LOCAL_BUNDLES);
  });
});

Deno.test("stampedRuntime hashes the binary only when it changed", async () => {
  await withDirs(async (root, cacheDir) => {
    const binary = `${root}/deno`;
    await Deno.writeTextFile(binary, "v1");
    const first = await stampedRuntime(binary, { cacheDir });
    assert.equal(first.sha256, await sha256Of("v1"));
    // A stamp claiming another hash for the same file is believed (the file was not read)...
    const stampFile = `${cacheDir}/runtime.stamp.json`;
    const stamp = JSON.parse(await Deno.readTextFile(stampFile));
    await Deno.writeTextFile(stampFile, JSON.stringify({ ...stamp, sha256: "f".repeat(64) }));
    assert.equal((await stampedRuntime(binary, { cacheDir })).sha256, "f".repeat(64));
    // ...until the file changes: then it is hashed again. (A new size, so the change shows even
    // when the rewrite lands in the same mtime tick as the first write.)
    await Deno.writeTextFile(binary, "v2 changed");
    const changed = await stampedRuntime(binary, { cacheDir });
    assert.equal(changed.sha256, await sha256Of("v2 changed"));
  });
});
