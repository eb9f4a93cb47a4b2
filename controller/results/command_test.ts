import assert from "node:assert/strict";
import { syntheticEpochs } from "./_synthetic.ts";

const COMMAND_URL = new URL("./command.ts", import.meta.url).href;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

async function spiritReport(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `import { reportCommand } from "${COMMAND_URL}";
await reportCommand().parseAsync(Deno.args, { from: "user" });`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", CONFIG, script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("spirit report rebuilds summary and report of an interrupted run and warns", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spirit_report_cmd_" });
  try {
    const text = syntheticEpochs(4).map((r) => JSON.stringify(r) + "\n").join("");
    await Deno.writeTextFile(`${dir}/epochs.jsonl`, text + '{"v":1');
    const result = await spiritReport([dir]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /line 5 was incomplete \(interrupted run\)/);
    assert.match(result.stdout, /4 measured epochs, 2 apps/);
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
    assert.equal(summary.truncated, true);
    assert.ok((await Deno.stat(`${dir}/report.html`)).size > 100_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spirit report exits 2 for a directory without epochs.jsonl", async () => {
  const result = await spiritReport(["/nonexistent/spirit/run"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /is not a run directory/);
});
