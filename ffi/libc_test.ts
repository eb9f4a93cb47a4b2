import assert from "node:assert/strict";
import { closeFd, Errno, ErrnoError, getpid, pageSize } from "./libc.ts";

Deno.test("libc errors carry the errno read right after the call", () => {
  assert.throws(() => closeFd(-1), (error: unknown) => {
    assert.ok(error instanceof ErrnoError);
    assert.equal(error.errno, Errno.EBADF);
    assert.match(error.message, /close failed: Bad file descriptor/);
    return true;
  });
});

Deno.test("getpid and pageSize come from libc", () => {
  assert.equal(getpid(), Deno.pid);
  assert.ok([4096, 16384, 65536].includes(pageSize()));
});

Deno.test("setParentDeathSignal is visible through PR_GET_PDEATHSIG", async () => {
  // In a child process: the signal must not be armed in the test runner itself.
  const code = `
    import { getParentDeathSignal, setParentDeathSignal } from ${
    JSON.stringify(new URL("./libc.ts", import.meta.url).href)
  };
    setParentDeathSignal("SIGTERM");
    console.log(getParentDeathSignal());
  `;
  const output = await new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "piped" })
    .output();
  assert.equal(new TextDecoder().decode(output.stdout).trim(), "15");
});
