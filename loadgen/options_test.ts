import assert from "node:assert/strict";
import {
  formatServerAddress,
  LOADGEN_DEFAULTS,
  loadgenArgs,
  parseServerAddress,
  workloadProblems,
} from "./options.ts";

Deno.test("parseServerAddress reads TCP, IPv6 and Unix socket addresses", () => {
  assert.deepEqual(parseServerAddress("127.0.0.1:11211"), {
    kind: "tcp",
    hostname: "127.0.0.1",
    port: 11211,
  });
  assert.deepEqual(parseServerAddress("[::1]:6379"), { kind: "tcp", hostname: "::1", port: 6379 });
  assert.deepEqual(parseServerAddress("unix:/run/mc.sock"), { kind: "unix", path: "/run/mc.sock" });
  for (const text of ["[::1]:6379", "cache-1:11211", "unix:/tmp/r.sock"]) {
    assert.equal(formatServerAddress(parseServerAddress(text)), text);
  }
});

Deno.test("parseServerAddress names the accepted forms of a bad address", () => {
  for (const bad of ["localhost", "h:0", "h:70000", "unix:relative", "a b:1"]) {
    assert.throws(() => parseServerAddress(bad), /expected HOST:PORT, \[IPv6\]:PORT or unix:/);
  }
});

Deno.test("workloadProblems names each out-of-range field with its range", () => {
  assert.deepEqual(workloadProblems(LOADGEN_DEFAULTS), []);
  const problems = workloadProblems({ ...LOADGEN_DEFAULTS, keys: 0, readRatio: 2, pipeline: 1.5 });
  assert.deepEqual(problems, [
    "keys: must be an integer from 1 to 100000000 (got 0)",
    "pipeline: must be an integer from 1 to 1024 (got 1.5)",
    "readRatio: must be from 0 to 1 (got 2)",
  ]);
});

Deno.test("loadgenArgs spells the workload as spirit loadgen flags", () => {
  const args = loadgenArgs("redis", {
    server: parseServerAddress("unix:/tmp/r.sock"),
    workload: { ...LOADGEN_DEFAULTS, keys: 5000, fill: false },
  });
  assert.deepEqual(args.slice(0, 6), [
    "loadgen",
    "redis",
    "--server",
    "unix:/tmp/r.sock",
    "--keys",
    "5000",
  ]);
  assert.ok(args.includes("--no-fill"));
});
