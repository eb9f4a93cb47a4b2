import assert from "node:assert/strict";
import { assertRunnable, spawnApp, trampolineArgv } from "./spawn.ts";

Deno.test("trampolineArgv wraps the command in setpriv and the cgroup trampoline", () => {
  const argv = trampolineArgv(["app", "--flag"], {
    procsFiles: ["/cg/memory/cgroup.procs"],
    setpriv: "/usr/bin/setpriv",
  });
  assert.deepEqual(argv.slice(0, 4), ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"]);
  assert.deepEqual(argv.slice(-5), [
    "spirit-launch",
    "/cg/memory/cgroup.procs",
    "--",
    "app",
    "--flag",
  ]);
});

Deno.test("spawnApp passes hostile arguments through unchanged", async () => {
  const hostile = [
    "a b",
    "'quoted'",
    '"double"',
    "$HOME",
    "`id`",
    "line\nbreak",
    "--",
    ";rm -rf /",
  ];
  const child = spawnApp(["printf", "%s\\0", ...hostile], { stderr: "null" });
  const [output, status] = await Promise.all([new Response(child.stdout).text(), child.status]);
  assert.equal(status.code, 0);
  assert.deepEqual(output.split("\0").slice(0, -1), hostile);
});

Deno.test("assertRunnable accepts programs on PATH and executable paths", async () => {
  await assertRunnable("sh");
  await assertRunnable("/bin/sh");
  await assertRunnable("./sh", { cwd: "/bin" });
});

Deno.test("assertRunnable names a missing, non-executable or unknown program", async () => {
  const dir = await Deno.makeTempDir({ prefix: "spirit-runnable-" });
  try {
    await Deno.writeTextFile(`${dir}/plain.sh`, "#!/bin/sh\n", { mode: 0o644 });
    await assert.rejects(assertRunnable(`${dir}/gone.sh`), /gone\.sh does not exist/);
    await assert.rejects(assertRunnable(`${dir}/plain.sh`), /plain\.sh is not executable/);
    await assert.rejects(assertRunnable(dir), /is not a file/);
    await assert.rejects(
      assertRunnable("no-such-program-anywhere", { path: dir }),
      new RegExp(`no-such-program-anywhere is not on PATH \\(${dir}\\)`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
