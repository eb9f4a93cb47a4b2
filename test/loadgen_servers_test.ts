/**
 * The load generator against real servers (Debian's memcached and redis-server), each started
 * by the test on a Unix socket of its own and stopped afterwards.
 */
import assert from "node:assert/strict";
import {
  LOADGEN_DEFAULTS,
  type LoadgenProtocol,
  type LoadgenWorkload,
} from "../loadgen/options.ts";
import { runLoadgen } from "../loadgen/run.ts";
import { commandOnPath, systemTest } from "./prereq.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** A server on a Unix socket in a private directory; `stop()` ends it and removes the directory. */
interface TestServer {
  socket: string;
  /** Sends one raw request and returns the reply text once it contains `until`. */
  query(request: string, until: RegExp): Promise<string>;
  stop(): Promise<void>;
}

async function startServer(protocol: LoadgenProtocol): Promise<TestServer> {
  const dir = await Deno.makeTempDir({ prefix: "spirit-loadgen-test-" });
  const socket = `${dir}/${protocol}.sock`;
  const [program, args] = protocol === "memcached"
    ? ["memcached", ["-u", "root", "-s", socket, "-m", "256", "-t", "1"]]
    : ["redis-server", [
      "--port",
      "0",
      "--unixsocket",
      socket,
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ]];
  const child = new Deno.Command(program, { args, stdout: "null", stderr: "null" }).spawn();
  return {
    socket,
    async query(request, until) {
      const conn = await Deno.connect({ transport: "unix", path: socket });
      try {
        await conn.write(new TextEncoder().encode(request));
        let text = "";
        const buffer = new Uint8Array(65536);
        while (!until.test(text)) {
          const read = await conn.read(buffer);
          if (read === null) break;
          text += new TextDecoder().decode(buffer.subarray(0, read));
        }
        return text;
      } finally {
        conn.close();
      }
    },
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function withServer(
  protocol: LoadgenProtocol,
  fn: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startServer(protocol);
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

const workload: LoadgenWorkload = { ...LOADGEN_DEFAULTS, keys: 2000, valueBytes: 200 };

function run(protocol: LoadgenProtocol, socket: string, overrides: Partial<LoadgenWorkload> = {}) {
  const lines: string[] = [];
  return runLoadgen({
    protocol,
    server: { kind: "unix", path: socket },
    workload: { ...workload, ...overrides },
    durationMs: 400,
    reportIntervalMs: 100,
    connectTimeoutMs: 10_000,
  }, { report: (line) => lines.push(line) }).then((result) => ({ result, lines }));
}

systemTest(
  "loadgen fills memcached with every key and then hits them all",
  [commandOnPath("memcached")],
  async () => {
    await withServer("memcached", async (server) => {
      const { result, lines } = await run("memcached", server.socket);
      assert.equal(result.fillErrors, 0);
      const stats = await server.query("stats\r\n", /END\r\n$/);
      assert.match(stats, new RegExp(`STAT curr_items ${workload.keys}\\r\\n`));
      assert.ok(result.gets > 0 && result.sets > 0, JSON.stringify(result));
      assert.equal(result.hits, result.gets, "every key was stored by the fill");
      assert.equal(result.ops, result.gets + result.sets);
      assert.equal(result.errors, 0);
      assert.ok(lines.some((l) => /^filled 2000 keys in \d+ ms \(0 errors\)$/.test(l)));
      assert.equal(
        lines.at(-1),
        `ops ${result.ops} gets ${result.gets} hits ${result.hits} ` +
          `misses 0 sets ${result.sets} errors 0`,
      );
    });
  },
);

systemTest(
  "loadgen fills redis with every key and then hits them all",
  [commandOnPath("redis-server")],
  async () => {
    await withServer("redis", async (server) => {
      const { result } = await run("redis", server.socket, { connections: 3, pipeline: 16 });
      assert.equal(await server.query("*1\r\n$6\r\nDBSIZE\r\n", /\r\n$/), `:${workload.keys}\r\n`);
      assert.ok(result.gets > 0 && result.sets > 0, JSON.stringify(result));
      assert.equal(result.hits, result.gets);
      assert.equal(result.errors, 0);
      // The stored values have the asked size.
      const value = await server.query("*2\r\n$3\r\nGET\r\n$5\r\nkey:7\r\n", /\r\n.*\r\n$/s);
      assert.match(value, /^\$200\r\n[a-z]{200}\r\n$/);
    });
  },
);

systemTest(
  "loadgen without a fill misses the keys it has not written yet",
  [commandOnPath("redis-server")],
  async () => {
    await withServer("redis", async (server) => {
      const { result } = await run("redis", server.socket, { fill: false, readRatio: 1 });
      assert.equal(result.fillMs, null);
      assert.ok(result.misses > 0 && result.hits === 0, JSON.stringify(result));
    });
  },
);

systemTest(
  "loadgen reports server errors (an item too large for memcached) and keeps going",
  [commandOnPath("memcached")],
  async () => {
    await withServer("memcached", async (server) => {
      // Values above memcached's 1 MiB item limit are refused with SERVER_ERROR.
      const { result } = await run("memcached", server.socket, {
        keys: 4,
        valueBytes: 2 ** 20,
        readRatio: 0,
        pipeline: 1,
        connections: 1,
      });
      assert.equal(result.fillErrors, 4);
      assert.ok(result.errors > 0);
      assert.match(result.lastError ?? "", /^SERVER_ERROR/);
    });
  },
);

systemTest(
  "spirit loadgen --json prints exactly one JSON document and stops on its duration",
  [commandOnPath("redis-server")],
  async () => {
    await withServer("redis", async (server) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${ROOT}controller/cli.ts`,
          "loadgen",
          "redis",
          "--server",
          `unix:${server.socket}`,
          "--keys",
          "500",
          "--duration",
          "300ms",
          "--json",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      const result = JSON.parse(new TextDecoder().decode(output.stdout));
      assert.equal(result.protocol, "redis");
      assert.equal(result.keys, 500);
      assert.ok(result.ops > 0);
      assert.match(new TextDecoder().decode(output.stderr), /^ops \d+ gets/m);
    });
  },
);

Deno.test("spirit loadgen refuses bad options with the field and the accepted values", async () => {
  const attempt = async (args: string[]) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}controller/cli.ts`, "loadgen", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
  };
  const badServer = await attempt(["memcached", "--server", "localhost"]);
  assert.equal(badServer.code, 2);
  assert.match(badServer.stderr, /expected HOST:PORT, \[IPv6\]:PORT or unix:/);
  const badProtocol = await attempt(["mysql", "--server", "127.0.0.1:1"]);
  assert.equal(badProtocol.code, 2);
  assert.match(badProtocol.stderr, /memcached, redis/);
  const badRange = await attempt(["redis", "--server", "127.0.0.1:1", "--keys", "0"]);
  assert.equal(badRange.code, 2);
  assert.match(badRange.stderr, /keys: must be an integer from 1 to/);
});
