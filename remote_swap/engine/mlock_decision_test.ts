/**
 * Why the swap data path is C: a Deno process whose memory is locked (mlockall) aborts as soon
 * as V8 gives heap pages back with madvise(MADV_DONTNEED), which the kernel refuses on locked
 * pages (EINVAL). If this test ever fails, Deno tolerates locked memory and the TypeScript data
 * path (remote_swap/ts_engine.ts) could lock itself instead (docs/remote_swap.md).
 */
import assert from "node:assert/strict";
import { pathExists, systemTest } from "../../test/prereq.ts";

const LIBC = new URL("../../ffi/libc.ts", import.meta.url).href;

systemTest(
  "a Deno process under mlockall aborts once V8 discards locked heap pages",
  [pathExists("/proc/self/status")],
  async () => {
    const script = [
      `import { lockAllMemory } from "${LIBC}";`,
      "lockAllMemory({ onFault: true });",
      "let keep = [];",
      "for (let i = 0; i < 400; i++) {",
      "  keep.push(new Uint8Array(1 << 20));",
      "  if (keep.length > 20) keep = [];",
      "  const garbage = [];",
      "  for (let j = 0; j < 10000; j++) garbage.push({ j });",
      "}",
      'console.log("survived");',
    ].join("\n");
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.notEqual(output.code, 0, `Deno survived mlockall: ${stdout}`);
    assert.match(stderr, /Check failed|panicked/);
  },
);
