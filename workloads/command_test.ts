import assert from "node:assert/strict";
import { parseControlChannel } from "./command.ts";

Deno.test("--control takes stdio or unix:PATH and names anything else", () => {
  assert.deepEqual(parseControlChannel("stdio"), { kind: "stdio" });
  assert.deepEqual(parseControlChannel("unix:/run/a b/1.sock"), {
    kind: "unix",
    path: "/run/a b/1.sock",
  });
  for (const bad of ["", "unix:", "tcp:1.2.3.4:5", "STDIO"]) {
    assert.throws(() => parseControlChannel(bad), new RegExp(`"${bad}" is not a control channel`));
  }
});
