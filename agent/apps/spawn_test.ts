import assert from "node:assert/strict";
import { spawnApp, trampolineArgv } from "./spawn.ts";

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
