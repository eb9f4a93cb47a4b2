import assert from "node:assert/strict";
import { ExecTimeoutError, RemoteCommandError } from "./errors.ts";
import { LocalConnector } from "./local.ts";

Deno.test("LocalConnector.exec returns stdout, stderr and the exit code", async () => {
  await using local = new LocalConnector("here");
  const result = await local.exec(["sh", "-c", "echo out; echo err >&2; cat; exit 0"], {
    stdin: "in\n",
  });
  assert.deepEqual([result.code, result.stdout, result.stderr], [0, "out\nin\n", "err\n"]);
});

Deno.test("LocalConnector.exec streams stdout chunks as they arrive", async () => {
  await using local = new LocalConnector();
  const seen: string[] = [];
  await local.exec(["printf", "a\\nb\\n"], {
    onStdout: (c) => seen.push(new TextDecoder().decode(c)),
  });
  assert.equal(seen.join(""), "a\nb\n");
});

Deno.test("LocalConnector.exec reports host, argv, code and stderr tail of a failure", async () => {
  await using local = new LocalConnector("here");
  const argv = ["sh", "-c", "echo boom >&2; exit 3"];
  await assert.rejects(local.exec(argv), (e) => {
    assert.ok(e instanceof RemoteCommandError);
    assert.deepEqual([e.host, e.argv, e.code, e.stderrTail], ["here", argv, 3, "boom"]);
    assert.match(e.message, /failed on host "here" with exit code 3:\nboom/);
    return true;
  });
});

Deno.test("LocalConnector.exec with check false returns a failing result", async () => {
  await using local = new LocalConnector();
  assert.equal((await local.exec(["false"], { check: false })).code, 1);
});

Deno.test("LocalConnector.exec reports a missing program as exit code 127", async () => {
  await using local = new LocalConnector();
  await assert.rejects(
    local.exec(["spirit-no-such-program"]),
    (e) => e instanceof RemoteCommandError && e.code === 127,
  );
});

Deno.test("LocalConnector.exec kills a command that outlives its timeout", async () => {
  await using local = new LocalConnector();
  await assert.rejects(
    local.exec(["sleep", "30"], { timeoutMs: 50 }),
    (e) => e instanceof ExecTimeoutError && e.timeoutMs === 50,
  );
});

Deno.test("LocalConnector.exec stops on abort with the signal's reason", async () => {
  await using local = new LocalConnector();
  const controller = new AbortController();
  const running = local.exec(["sleep", "30"], { signal: controller.signal });
  controller.abort(new Error("stop now"));
  await assert.rejects(running, /stop now/);
});

Deno.test("LocalConnector.spawn talks JSON lines over stdio", async () => {
  await using local = new LocalConnector();
  const proc = await local.spawn([
    "sh",
    "-c",
    'while read -r line; do echo "{\\"echo\\":$line}"; done',
  ]);
  const writer = proc.stdin.getWriter();
  await writer.write(new TextEncoder().encode('{"id":1}\n'));
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await reader.read();
  assert.equal(first.value, '{"echo":{"id":1}}\n');
  await writer.close();
  assert.equal((await reader.read()).done, true);
  await proc.stderr.cancel();
  assert.equal((await proc.status).code, 0);
});

Deno.test("LocalConnector.spawn kill ends the process", async () => {
  await using local = new LocalConnector();
  const proc = await local.spawn(["sleep", "30"]);
  await proc.kill();
  await Promise.all([proc.stdin.close(), proc.stdout.cancel(), proc.stderr.cancel()]);
  assert.equal((await proc.status).signal, "SIGTERM");
});

Deno.test("LocalConnector.put and get copy files, creating directories and setting the mode", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spirit_local_test_" });
  try {
    await using local = new LocalConnector();
    await Deno.writeTextFile(`${dir}/a`, "payload");
    await local.put(`${dir}/a`, `${dir}/x/y/b`, { mode: 0o600 });
    assert.equal(((await Deno.stat(`${dir}/x/y/b`)).mode ?? 0) & 0o777, 0o600);
    await local.get(`${dir}/x/y/b`, `${dir}/c`);
    assert.equal(await Deno.readTextFile(`${dir}/c`), "payload");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
