import assert from "node:assert/strict";
import {
  formatBytes,
  formatRate,
  parseDurationMs,
  parseRateBytesPerSec,
  parseSizeBytes,
} from "./units.ts";

Deno.test("parseSizeBytes reads binary and decimal suffixes", () => {
  assert.equal(parseSizeBytes("512MiB"), 512 * 2 ** 20);
  assert.equal(parseSizeBytes("4GiB"), 4 * 2 ** 30);
  assert.equal(parseSizeBytes("2G"), 2 * 2 ** 30);
  assert.equal(parseSizeBytes("1GB"), 1e9);
  assert.equal(parseSizeBytes("4096"), 4096);
  assert.equal(parseSizeBytes("1.5 KiB"), 1536);
  assert.equal(parseSizeBytes(10), 10);
});

Deno.test("parseSizeBytes rejects unknown units and negative numbers with the input named", () => {
  assert.throws(() => parseSizeBytes("12 apples"), /size "12 apples"/);
  assert.throws(() => parseSizeBytes("-1MiB"), /size "-1MiB"/);
  assert.throws(() => parseSizeBytes(""), /Cannot parse size/);
  assert.throws(() => parseSizeBytes(-3), /Invalid size -3/);
});

Deno.test("parseRateBytesPerSec treats bps as decimal bits and B/s as bytes", () => {
  assert.equal(parseRateBytesPerSec("1Gbps"), 125_000_000);
  assert.equal(parseRateBytesPerSec("8Mbps"), 1_000_000);
  assert.equal(parseRateBytesPerSec("8Mb/s"), 1_000_000);
  assert.equal(parseRateBytesPerSec("100MB/s"), 100e6);
  assert.equal(parseRateBytesPerSec("64MiB/s"), 64 * 2 ** 20);
  assert.equal(parseRateBytesPerSec("5000"), 5000);
  assert.throws(() => parseRateBytesPerSec("fast"), /rate "fast"/);
});

Deno.test("parseDurationMs reads single and compound durations", () => {
  assert.equal(parseDurationMs("500ms"), 500);
  assert.equal(parseDurationMs("30s"), 30_000);
  assert.equal(parseDurationMs("2m"), 120_000);
  assert.equal(parseDurationMs("1m30s"), 90_000);
  assert.equal(parseDurationMs("1h"), 3_600_000);
  assert.equal(parseDurationMs("250"), 250);
  assert.throws(() => parseDurationMs("soon"), /duration "soon"/);
  assert.throws(() => parseDurationMs("5s later"), /duration "5s later"/);
});

Deno.test("formatBytes and formatRate print readable figures", () => {
  assert.equal(formatBytes(512 * 2 ** 20), "512.0MiB");
  assert.equal(formatBytes(100), "100B");
  assert.equal(formatRate(125_000_000), "1.00Gbps");
  assert.equal(formatRate(1_250_000), "10.0Mbps");
});
