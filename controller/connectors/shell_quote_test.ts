import assert from "node:assert/strict";
import { HOSTILE_ARGV } from "../../test/fixtures/hostile_argv.ts";
import { quoteArgv } from "./shell_quote.ts";

async function shellSplit(command: string): Promise<string[]> {
  // printf '%s\0' prints each word NUL-terminated, so words with newlines survive.
  const out = await new Deno.Command("sh", {
    args: ["-c", `printf '%s\\0' ${command}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const text = new TextDecoder().decode(out.stdout);
  return text.split("\0").slice(0, -1);
}

Deno.test("quoteArgv leaves safe words bare", () => {
  assert.equal(
    quoteArgv(["ls", "-la", "/tmp/x.y", "a=b,c:d@e%f+g"]),
    "ls -la /tmp/x.y 'a=b,c:d@e%f+g'",
  );
});

Deno.test("quoteArgv single-quotes words with shell syntax and escapes single quotes", () => {
  assert.equal(quoteArgv(["echo", "it's $HOME"]), "echo 'it'\\''s $HOME'");
  assert.equal(quoteArgv([""]), "''");
});

Deno.test("quoteArgv output is split by sh back into the same hostile words", async () => {
  assert.deepEqual(await shellSplit(quoteArgv(HOSTILE_ARGV)), [...HOSTILE_ARGV]);
});

Deno.test("quoteArgv round-trips every hostile word on its own through sh", async () => {
  for (const word of HOSTILE_ARGV) {
    assert.deepEqual(await shellSplit(quoteArgv([word])), [word], JSON.stringify(word));
  }
});

Deno.test("quoteArgv quotes a leading assignment so sh runs it as a command word", () => {
  assert.equal(quoteArgv(["A=b", "cmd"]), "'A=b' cmd");
});

Deno.test("quoteArgv rejects a NUL byte and names the argument", () => {
  assert.throws(() => quoteArgv(["ok", "a\0b"]), /argv\[1\].*NUL/);
});
