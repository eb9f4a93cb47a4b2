/**
 * Checks the results of the demo smoke run in .ci/run: `deno run -A test/smoke_check.ts DIR`
 * finds the newest run directory under DIR and exits non-zero, saying why, if it is not sound.
 * @module
 */
import { readEpochs } from "../controller/results/read.ts";

const parent = Deno.args[0];
if (parent === undefined) {
  console.error("usage: smoke_check.ts RESULTS_DIR");
  Deno.exit(2);
}
const dirs: string[] = [];
for await (const entry of Deno.readDir(parent)) {
  if (entry.isDirectory) dirs.push(`${parent}/${entry.name}`);
}
const dir = dirs.sort().at(-1);
const problems: string[] = [];
if (dir === undefined) problems.push(`no run directory under ${parent}`);
else {
  for (const file of ["epochs.jsonl", "summary.json", "report.html", "apps.csv", "events.jsonl"]) {
    await Deno.stat(`${dir}/${file}`).catch(() => problems.push(`${file} missing`));
  }
  const { records } = await readEpochs(dir);
  const measured = records.filter((r) => r.phase === "measure");
  if (measured.length < 2) problems.push(`only ${measured.length} measured epochs`);
  for (const record of measured) {
    for (const app of record.apps) {
      if (!((app.opsPerSec ?? 0) > 0)) {
        problems.push(`epoch ${record.epoch}: ${app.name} has no throughput`);
      }
    }
    const cache = record.apps.reduce((a, b) => a + b.cacheMiB, 0);
    if (cache > (record.nodes[0]?.cacheMiB ?? 0) + 1e-6) {
      problems.push(`epoch ${record.epoch}: cache over capacity`);
    }
  }
  const report = await Deno.readTextFile(`${dir}/report.html`).catch(() => "");
  if (!report.includes("vega")) problems.push("report.html has no charts");
}
if (problems.length > 0) {
  console.error(`demo smoke run: ${problems.join("; ")}`);
  Deno.exit(1);
}
console.log(`demo smoke run ok: ${dir}`);
