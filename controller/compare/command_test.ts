import assert from "node:assert/strict";
import { spirit } from "../../test/fixtures/spirit_cli.ts";
import { twoAppSpec } from "../../test/fixtures/two_apps.ts";

/** A playbook file of a kv and a scan on one node (1 minute of 5 s epochs) in `dir`. */
async function playbookFile(dir: string): Promise<string> {
  const file = `${dir}/pb.ts`;
  const spec = twoAppSpec(`${dir}/results`, {
    name: "cmdcmp",
    epoch: "5s",
    warmup: "10s",
    duration: "1m",
  });
  await Deno.writeTextFile(file, `export default ${JSON.stringify(spec)};\n`);
  return file;
}

async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spirit-compare-cli-test-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("spirit compare --simulate --json prints exactly compare.json; progress goes to stderr", async () => {
  await inTempDir(async (dir) => {
    const out = `${dir}/cmp`;
    const run = await spirit(
      "compare",
      await playbookFile(dir),
      "--policies",
      "symbiosis",
      "--simulate",
      "--duration",
      "40s",
      "--out",
      out,
      "--json",
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, await Deno.readTextFile(`${out}/compare.json`));
    const comparison = JSON.parse(run.stdout);
    assert.deepEqual(comparison.policies.map((p: { policy: string }) => p.policy), [
      "static",
      "symbiosis",
    ]);
    assert.match(run.stderr, /note: added static, the reference/);
    assert.match(run.stderr, /run 2\/2: symbiosis, repetition 1: done/);
    // 40 s of 5 s epochs, in every run.
    const epochs = await Deno.readTextFile(`${comparison.policies[1].runs[0]}/epochs.jsonl`);
    assert.equal(epochs.trim().split("\n").length, 8);
  });
});

Deno.test("spirit compare prints the comparison tables and where the report is", async () => {
  await inTempDir(async (dir) => {
    const run = await spirit("compare", await playbookFile(dir), "--simulate");
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^static\s+1\s+0\s+x1\.000/m);
    assert.match(run.stdout, /^symbiosis\s+1\s+0\s+x\d/m);
    const html = /Results: (\S+compare\.html)/.exec(run.stdout)?.[1] ?? "";
    assert.match(html, new RegExp(`^${dir}/results/compare-cmdcmp-\\d{8}-\\d{6}/compare\\.html$`));
    assert.ok((await Deno.stat(html)).isFile);
  });
});

Deno.test("spirit compare refuses bad flags with exit status 2 and a clear message, running nothing", async () => {
  await inTempDir(async (dir) => {
    const file = await playbookFile(dir);
    const cases: Array<[string[], RegExp]> = [
      [["--policies", "static,best"], /unknown policy "best" \(accepted: symbiosis, static/],
      [["--policies", "static"], /at least one policy besides static/],
      [["--repeat", "0"], /--repeat: expected a whole number from 1 to 100, got "0"/],
      [["--duration", "soon"], /duration \(--duration\)/],
      [["--out", ""], /--out: must not be empty/],
      [["--duration", "forever"], /a comparison needs a duration/],
    ];
    for (const [flags, message] of cases) {
      const run = await spirit("compare", file, "--simulate", ...flags);
      assert.equal(run.code, 2, `${flags.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, "");
    }
    const missing = await spirit("compare", `${dir}/nope.ts`, "--simulate");
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot import the file/);
    await assert.rejects(Deno.stat(`${dir}/results`), Deno.errors.NotFound);
  });
});
