import assert from "node:assert/strict";
import { extractCount, LogThroughput, throughputReader } from "./throughput.ts";

Deno.test("extractCount takes the first number or the pattern's capture", () => {
  assert.equal(extractCount("  12345 ops\n"), 12345);
  assert.equal(extractCount("errors=2 ops=42", "ops=(\\d+)"), 42);
  assert.equal(extractCount("nothing here"), null);
});

Deno.test("LogThroughput keeps the last captured count", async () => {
  const log = new LogThroughput("^touched (\\d+)$", "stdout");
  log.onLine("stdout", "touched 256");
  log.onLine("stderr", "touched 999");
  log.onLine("stdout", "touched 512");
  assert.equal(await log.read(), 512);
});

Deno.test("LogThroughput counts matching lines without a capture group", async () => {
  const log = new LogThroughput("request done");
  log.onLine("stdout", "request done");
  log.onLine("stderr", "request done");
  log.onLine("stdout", "other");
  assert.equal(await log.read(), 2);
});

Deno.test("command throughput source reads the command's first number", async () => {
  const reader = throughputReader({ kind: "command", argv: ["echo", "ops 77"] });
  assert.equal(await reader?.read(), 77);
});

Deno.test("http throughput source reads the pattern's capture from a local endpoint", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("uptime 5\nops_total 1234\n"),
  );
  try {
    const reader = throughputReader({
      kind: "http",
      url: `http://127.0.0.1:${server.addr.port}/metrics`,
      pattern: "ops_total (\\d+)",
    });
    assert.equal(await reader?.read(), 1234);
  } finally {
    await server.shutdown();
  }
});
