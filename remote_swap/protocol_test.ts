import assert from "node:assert/strict";
import { parseControlRequest } from "./protocol.ts";

Deno.test("control requests parse, and bad ones say what is accepted", () => {
  assert.deepEqual(parseControlRequest('{"op":"status"}'), { op: "status" });
  assert.deepEqual(parseControlRequest('{"op":"set-write-cap","bytesPerSec":5e7}'), {
    op: "set-write-cap",
    bytesPerSec: 5e7,
  });
  assert.deepEqual(parseControlRequest('{"op":"set-write-cap","bytesPerSec":null}'), {
    op: "set-write-cap",
    bytesPerSec: null,
  });
  const bad = parseControlRequest('{"op":"set-write-cap","bytesPerSec":-1}');
  assert.ok("error" in bad && /non-negative number or null/.test(bad.error));
  const unknown = parseControlRequest('{"op":"reboot"}');
  assert.ok("error" in unknown && /status, set-write-cap, down, watch/.test(unknown.error));
  assert.ok("error" in parseControlRequest("not json"));
});
