/**
 * End to end: `spirit run --metrics-listen` serves the Prometheus exposition during a real
 * local run (memory server, agent, two far-memory apps), scraped over HTTP after each of two
 * epochs and parsed strictly; bad and unusable addresses are refused before anything starts.
 * @module
 */
import assert from "node:assert/strict";
import { readLines } from "../common/lines.ts";
import { tinySpec, writePlaybookFile } from "./fixtures/tiny_playbook.ts";
import { type ParsedFamily, parseExposition, sampleValue } from "./fixtures/prometheus_text.ts";

const ROOT = new URL("..", import.meta.url).pathname;

function tinyPlaybook(dir: string): Promise<string> {
  return writePlaybookFile(dir, tinySpec(`${dir}/results`, "symbiosis", "metrics"));
}

function spirit(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}controller/cli.ts`, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spirit-metrics-run-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function scrape(url: string) {
  const response = await fetch(url);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseExposition(text);
}

Deno.test("spirit run --metrics-listen serves the exposition during a real run", async () => {
  await withDir(async (dir) => {
    const child = spirit([
      "run",
      await tinyPlaybook(dir),
      "--metrics-listen",
      "127.0.0.1:0",
      "--json-log",
    ]);
    const stderr: string[] = [];
    let announce: (url: string) => void = () => {};
    const announced = new Promise<string>((resolve) => announce = resolve);
    const stderrDone = (async () => {
      for await (const line of readLines(child.stderr)) {
        stderr.push(line);
        const url = line.match(/^metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)$/)?.[1];
        if (url !== undefined) announce(url);
      }
    })();
    const scrapes: Array<ReturnType<typeof parseExposition>> = [];
    let url: string | null = null;
    for await (const line of readLines(child.stdout)) {
      if (!line.startsWith('{"type":"epoch"') || scrapes.length === 2) continue;
      url ??= await announced;
      scrapes.push(await scrape(url));
    }
    const status = await child.status;
    await stderrDone;
    assert.equal(status.code, 0, stderr.join("\n"));
    assert.equal(scrapes.length, 2, "scraped after two epochs");
    const [first, second] = scrapes as [Map<string, ParsedFamily>, Map<string, ParsedFamily>];
    assert.equal(
      sampleValue(first, "spirit_run_info", { playbook: "metrics", policy: "symbiosis" }),
      1,
    );
    assert.ok(sampleValue(first, "spirit_epochs_total") >= 1);
    assert.ok(
      sampleValue(second, "spirit_epochs_total") > sampleValue(first, "spirit_epochs_total"),
    );
    let cacheBytes = 0;
    for (const app of ["kv", "scan"]) {
      const labels = { app, host: "node" };
      // Warm-up probing may give one app all the cache for an epoch.
      cacheBytes += sampleValue(second, "spirit_app_cache_allocated_bytes", labels);
      assert.ok(sampleValue(second, "spirit_app_bandwidth_allocated_bytes_per_second", labels) > 0);
      assert.equal(
        second.get("spirit_app_model_info")?.samples.filter((s) => s.labels.app === app).length,
        1,
      );
    }
    assert.equal(
      sampleValue(second, "spirit_node_cache_capacity_bytes", { host: "node" }),
      8 * 2 ** 20,
    );
    assert.equal(
      sampleValue(second, "spirit_node_bandwidth_capacity_bytes_per_second", { host: "node" }),
      80 * 125_000,
    );
    assert.ok(
      sampleValue(second, "spirit_node_allocated_ratio", { resource: "cache" }) <= 1 + 1e-9,
    );
    assert.ok(sampleValue(second, "spirit_epoch_step_seconds", { step: "collect" }) >= 0);
    assert.ok(sampleValue(second, "spirit_events_total", { kind: "start" }) >= 1);
    // The endpoint closes with the run.
    await assert.rejects(fetch(url ?? ""));
  });
});

Deno.test("spirit run refuses a bad --metrics-listen address before starting anything", async () => {
  await withDir(async (dir) => {
    const playbook = await tinyPlaybook(dir);
    const bad = await spirit(["run", playbook, "--metrics-listen", "localhost"]).output();
    assert.equal(bad.code, 2);
    assert.match(
      new TextDecoder().decode(bad.stderr),
      /error: --metrics-listen: no port in "localhost" \(expected HOST:PORT/,
    );
    await assert.rejects(Deno.stat(`${dir}/results`), Deno.errors.NotFound);
  });
});

Deno.test("spirit run refuses a --metrics-listen address in use before starting anything", async () => {
  await withDir(async (dir) => {
    const playbook = await tinyPlaybook(dir);
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const taken = `127.0.0.1:${listener.addr.port}`;
    const busy = await spirit(["run", playbook, "--metrics-listen", taken]).output();
    assert.equal(busy.code, 1);
    assert.match(
      new TextDecoder().decode(busy.stderr),
      new RegExp(`error: Cannot serve metrics on ${taken}: `),
    );
    await assert.rejects(Deno.stat(`${dir}/results`), Deno.errors.NotFound);
  });
});
