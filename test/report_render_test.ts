/**
 * System test: report.html renders its Vega-Lite charts in headless Chromium, offline.
 * @module
 */
import assert from "node:assert/strict";
import { syntheticEpochs } from "../controller/results/_synthetic.ts";
import { rebuildReport } from "../controller/results/rebuild.ts";
import { CHART_IDS } from "../controller/results/report.ts";
import { commandOnPath, systemTest } from "./prereq.ts";

/** Runs headless Chromium on a file with no network and a fresh profile; returns stdout. */
async function chromium(args: string[], url: string): Promise<string> {
  const profile = await Deno.makeTempDir({ prefix: "spirit_chromium_" });
  try {
    const out = await new Deno.Command("chromium", {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        `--user-data-dir=${profile}`,
        "--virtual-time-budget=5000",
        ...args,
        url,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(90_000),
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr).slice(-2000));
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

systemTest(
  "report.html of an interrupted run renders every chart in headless Chromium",
  [commandOnPath("chromium")],
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "spirit_report_render_" });
    try {
      const lines = syntheticEpochs(10, { warmup: 2 }).map((r) => JSON.stringify(r) + "\n");
      await Deno.writeTextFile(`${dir}/epochs.jsonl`, lines.join("") + '{"v":1,"ep');
      const fault = {
        time: "2026-01-01T00:00:32Z",
        kind: "fault",
        app: "kv",
        message: "agent died",
      };
      await Deno.writeTextFile(`${dir}/events.jsonl`, JSON.stringify(fault) + "\n");
      const result = await rebuildReport(dir);
      assert.equal(result.truncatedLine, 11);
      const dom = await chromium(["--dump-dom"], `file://${result.reportPath}`);
      const sections = dom.split(/<div [^>]*?(?=id="chart-)id="/).slice(1);
      assert.deepEqual(sections.map((s) => s.slice(0, s.indexOf('"'))), [...CHART_IDS]);
      for (const section of sections) {
        const id = section.slice(0, section.indexOf('"'));
        assert.match(section, /<svg[^>]*class="marks"/, `${id} has no rendered chart`);
        assert.match(section, /class="mark-line role-mark/, `${id} has no line marks`);
        assert.match(section, /class="mark-rect role-mark/, `${id} has no warm-up span`);
        assert.match(section, /class="mark-rule role-mark/, `${id} has no fault marker`);
        assert.doesNotMatch(section.slice(0, 300), /Chart failed/, id);
      }
      assert.match(dom, /The run was interrupted/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
