import assert from "node:assert/strict";
import { parseAgentRequest } from "./protocol_schema.ts";

Deno.test("parseAgentRequest accepts a cgroup launch with a log throughput source", () => {
  const parsed = parseAgentRequest(JSON.stringify({
    id: 4,
    op: "launch",
    app: {
      appId: "kv-1",
      enforcement: "cgroup",
      argv: ["memcached", "-m", "4096"],
      allocation: { cacheBytes: 2 ** 30, bandwidthBytesPerSec: 125e6 },
      throughput: { kind: "log", pattern: "ops=(\\d+)" },
    },
  }));
  assert.ok(parsed.ok);
  assert.equal(parsed.request.op, "launch");
});

Deno.test("parseAgentRequest names the field path of bad input", () => {
  const parsed = parseAgentRequest(JSON.stringify({
    id: 5,
    op: "set-allocation",
    appId: "../etc",
    allocation: { cacheBytes: -1, bandwidthBytesPerSec: 1 },
  }));
  assert.ok(!parsed.ok);
  assert.equal(parsed.id, 5);
  assert.match(parsed.message, /appId: app ids are/);
  assert.match(parsed.message, /allocation\.cacheBytes/);
});

Deno.test("parseAgentRequest rejects invalid regular expressions in log sources", () => {
  const parsed = parseAgentRequest(JSON.stringify({
    id: 1,
    op: "launch",
    app: {
      appId: "a",
      enforcement: "cgroup",
      argv: ["x"],
      allocation: { cacheBytes: 1, bandwidthBytesPerSec: 1 },
      throughput: { kind: "log", pattern: "(" },
    },
  }));
  assert.ok(!parsed.ok);
  assert.match(parsed.message, /app\.throughput\.pattern: not a valid regular expression/);
});

Deno.test("parseAgentRequest reports JSON syntax errors without an id", () => {
  const parsed = parseAgentRequest("{not json");
  assert.ok(!parsed.ok);
  assert.equal(parsed.id, null);
  assert.match(parsed.message, /not valid JSON/);
});

Deno.test("parseAgentRequest rejects adopted cgroup paths that climb out", () => {
  const parsed = parseAgentRequest(JSON.stringify({
    id: 2,
    op: "launch",
    app: {
      appId: "c",
      enforcement: "cgroup-existing",
      path: "/docker/../../etc",
      allocation: { cacheBytes: 1, bandwidthBytesPerSec: 1 },
    },
  }));
  assert.ok(!parsed.ok);
  assert.match(parsed.message, /no \.\. in paths/);
});

Deno.test("parseAgentRequest refuses a log throughput source for an adopted cgroup", () => {
  const parsed = parseAgentRequest(JSON.stringify({
    id: 3,
    op: "launch",
    app: {
      appId: "c",
      enforcement: "cgroup-existing",
      path: "/docker/abc",
      allocation: { cacheBytes: 1, bandwidthBytesPerSec: 1 },
      throughput: { kind: "log", pattern: "x" },
    },
  }));
  assert.ok(!parsed.ok);
  assert.match(parsed.message, /app\.throughput: an adopted cgroup's output/);
});

function cgroupLaunch(app: Record<string, unknown>) {
  return parseAgentRequest(JSON.stringify({
    id: 6,
    op: "launch",
    app: {
      appId: "mc",
      enforcement: "cgroup",
      argv: ["memcached"],
      allocation: { cacheBytes: 1, bandwidthBytesPerSec: 1 },
      ...app,
    },
  }));
}

Deno.test("parseAgentRequest accepts a driver whose output is the throughput source", () => {
  const parsed = cgroupLaunch({
    driver: { kind: "spirit", args: ["loadgen", "memcached", "--server", "127.0.0.1:1"] },
    throughput: { kind: "log", pattern: "^ops (\\d+)", from: "driver" },
  });
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.message);
});

Deno.test("parseAgentRequest refuses a driver log source without a driver", () => {
  const parsed = cgroupLaunch({ throughput: { kind: "log", pattern: "x", from: "driver" } });
  assert.ok(!parsed.ok);
  assert.match(parsed.message, /app\.throughput\.from: reads the driver's output/);
});

Deno.test("parseAgentRequest names the field of a bad driver", () => {
  const parsed = cgroupLaunch({ driver: { kind: "argv", argv: [] } });
  assert.ok(!parsed.ok);
  assert.match(parsed.message, /app\.driver\.argv: argv needs at least the program/);
});

Deno.test("parseAgentRequest refuses an empty swap device list (omit it for the default)", () => {
  const parsed = cgroupLaunch({ swapDevices: [] });
  assert.ok(!parsed.ok);
  assert.match(parsed.message, /app\.swapDevices: name at least one device, or omit/);
});

Deno.test("parseAgentRequest accepts remote-swap-up and names bad fields with accepted values", () => {
  const ok = parseAgentRequest(JSON.stringify({
    id: 7,
    op: "remote-swap-up",
    memserver: "10.0.0.2:7070",
    tokenFile: "/tmp/spirit-run/memserver.token",
    sizeBytes: 16 * 2 ** 30,
    priority: 100,
  }));
  assert.ok(ok.ok);
  assert.equal(ok.request.op, "remote-swap-up");
  const bad = parseAgentRequest(JSON.stringify({
    id: 8,
    op: "remote-swap-up",
    memserver: "no-port",
    tokenFile: "relative/token",
    sizeBytes: 4096,
    transport: "udp",
    priority: 40000,
  }));
  assert.ok(!bad.ok);
  assert.equal(bad.id, 8);
  assert.match(bad.message, /memserver: HOST:PORT/);
  assert.match(bad.message, /tokenFile/);
  assert.match(bad.message, /sizeBytes: at least 1 MiB/);
  assert.match(bad.message, /transport: .*"tcp"\|"rdma"\|"auto"/);
  assert.match(bad.message, /priority/);
});

Deno.test("parseAgentRequest accepts remote-swap-down and a write cap of null", () => {
  assert.ok(parseAgentRequest('{"id":1,"op":"remote-swap-down"}').ok);
  assert.ok(parseAgentRequest('{"id":2,"op":"remote-swap-set-write-cap","bytesPerSec":null}').ok);
  assert.ok(!parseAgentRequest('{"id":3,"op":"remote-swap-set-write-cap","bytesPerSec":-1}').ok);
});

Deno.test("parseAgentRequest accepts set-allocations and names a bad step's field path", () => {
  const allocation = { cacheBytes: 2 ** 20, bandwidthBytesPerSec: 125e3 };
  const good = parseAgentRequest(JSON.stringify({
    id: 7,
    op: "set-allocations",
    shrinks: [{ appId: "a", allocation }],
    grows: [{ appId: "b", allocation }],
  }));
  assert.ok(good.ok);
  assert.equal(good.request.op, "set-allocations");
  const bad = parseAgentRequest(JSON.stringify({
    id: 8,
    op: "set-allocations",
    shrinks: [],
    grows: [{ appId: "b", allocation: { cacheBytes: "1", bandwidthBytesPerSec: 1 } }],
  }));
  assert.ok(!bad.ok);
  assert.match(bad.message, /grows\.0\.allocation\.cacheBytes/);
});
