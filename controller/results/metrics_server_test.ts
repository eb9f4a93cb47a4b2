import assert from "node:assert/strict";
import { parseExposition, sampleValue } from "../../test/fixtures/prometheus_text.ts";
import { syntheticEpochs, syntheticPlaybook } from "./_synthetic.ts";
import { RunMetrics } from "./metrics.ts";
import { MetricsListenError, serveMetrics } from "./metrics_server.ts";
import { EXPOSITION_CONTENT_TYPE } from "./prometheus.ts";
import { RunWriter } from "./writer.ts";

const playbook = (output: string) => syntheticPlaybook(output, "m");

async function scrape(url: string): Promise<Response & { body_: string }> {
  const response = await fetch(url);
  return Object.assign(response, { body_: await response.text() });
}

Deno.test("serveMetrics serves what a run writer's records make, scraped over HTTP", async () => {
  const out = await Deno.makeTempDir({ prefix: "spirit_metrics_test_" });
  const metrics = new RunMetrics({ playbook: "m", policy: "symbiosis" });
  await using server = serveMetrics({ hostname: "127.0.0.1", port: 0 }, () => metrics.exposition());
  try {
    assert.equal(server.address.hostname, "127.0.0.1");
    assert.ok(server.address.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.address.port}/metrics`);
    await using writer = await RunWriter.create(playbook(out), { sinks: [metrics] });
    const records = syntheticEpochs(3);
    await writer.writeEpoch(records[0]!);
    let response = await scrape(server.url);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), EXPOSITION_CONTENT_TYPE);
    let families = parseExposition(response.body_);
    assert.equal(sampleValue(families, "spirit_epochs_total"), 1);
    assert.equal(
      sampleValue(families, "spirit_app_throughput_ops_per_second", { app: "kv" }),
      10_000,
    );
    await writer.writeEpoch(records[1]!);
    await writer.event({ time: records[1]!.time, kind: "fault", message: "agent lost" });
    response = await scrape(server.url);
    families = parseExposition(response.body_);
    assert.equal(sampleValue(families, "spirit_epochs_total"), 2);
    assert.equal(
      sampleValue(families, "spirit_app_throughput_ops_per_second", { app: "kv" }),
      12_000,
    );
    assert.equal(sampleValue(families, "spirit_faults_total", { kind: "fault" }), 1);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("serveMetrics answers 404 off /metrics, 405 to other methods and HEAD without a body", async () => {
  await using server = serveMetrics({ hostname: "127.0.0.1", port: 0 }, () => "x 1\n");
  const base = `http://127.0.0.1:${server.address.port}`;
  const missing = await scrape(`${base}/`);
  assert.equal(missing.status, 404);
  assert.match(missing.body_, /metrics are at \/metrics/);
  const post = await fetch(server.url, { method: "POST", body: "x" });
  await post.body?.cancel();
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  const head = await fetch(server.url, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
});

Deno.test("serveMetrics refuses an address it cannot bind, naming it", async () => {
  await using first = serveMetrics({ hostname: "127.0.0.1", port: 0 }, () => "");
  const taken = { hostname: "127.0.0.1", port: first.address.port };
  assert.throws(
    () => serveMetrics(taken, () => ""),
    (error: unknown) =>
      error instanceof MetricsListenError &&
      error.message.startsWith(`Cannot serve metrics on 127.0.0.1:${taken.port}: `) &&
      error.cause instanceof Deno.errors.AddrInUse,
  );
});

Deno.test("serveMetrics close is idempotent and stops listening", async () => {
  const server = serveMetrics({ hostname: "127.0.0.1", port: 0 }, () => "");
  await server.close();
  await server.close();
  await assert.rejects(fetch(server.url));
});
