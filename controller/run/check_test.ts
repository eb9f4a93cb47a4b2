import assert from "node:assert/strict";
import { retriedCount, retriedWarning } from "./check.ts";

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

Deno.test("retriedCount reads the count back from the warning, 0 from other warnings", () => {
  assert.equal(retriedCount(retriedWarning(["a"]) ?? ""), 1);
  assert.equal(retriedCount(retriedWarning(["a", "b", "c"]) ?? ""), 3);
  assert.equal(retriedCount("zswap is enabled: pages may be compressed in memory"), 0);
});
