import assert from "node:assert/strict";
import { spiritCliPath } from "./spirit_cli.ts";

Deno.test("spiritCliPath is this checkout's host/cli.ts when not bundled", async () => {
  const path = spiritCliPath();
  assert.equal(path, new URL("../host/cli.ts", import.meta.url).pathname);
  assert.ok((await Deno.stat(path)).isFile);
});

Deno.test("spiritCliPath is the bundle itself when bundled", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spirit-cli-path-" });
  try {
    const entry = `${dir}/entry.ts`;
    await Deno.writeTextFile(
      entry,
      `import { spiritCliPath } from "${new URL("./spirit_cli.ts", import.meta.url).href}";\n` +
        "console.log(spiritCliPath());\n",
    );
    const bundle = `${dir}/out.js`;
    const bundled = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform", "deno", "-o", bundle, entry],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(bundled.success, new TextDecoder().decode(bundled.stderr));
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", bundle],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(run.success, new TextDecoder().decode(run.stderr));
    assert.equal(new TextDecoder().decode(run.stdout).trim(), bundle);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
