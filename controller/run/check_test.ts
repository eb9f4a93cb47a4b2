import assert from "node:assert/strict";
import { retriedWarning } from "./check.ts";

Deno.test("retriedWarning names how many attempts were retried and the last reason", () => {
  assert.equal(retriedWarning([]), null);
  assert.equal(
    retriedWarning(["ssh: connect to host 10.0.0.1 port 22: Connection timed out"]),
    "1 connection attempt failed and was retried " +
      "(last: ssh: connect to host 10.0.0.1 port 22: Connection timed out)",
  );
  assert.equal(
    retriedWarning(["Connection refused", "kex_exchange_identification: read: reset"]),
    "2 connection attempts failed and were retried " +
      "(last: kex_exchange_identification: read: reset)",
  );
});
