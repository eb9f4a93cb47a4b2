import assert from "node:assert/strict";
import {
  parseBlkioServiceBytes,
  parseFlatKeyed,
  parseIoStat,
  parsePressure,
  sumDeviceBytes,
  workingsetCounters,
} from "./stats.ts";

Deno.test("parseFlatKeyed reads memory.stat lines", () => {
  const stat = parseFlatKeyed("rss 4096\nswap 8192\ntotal_pgmajfault 7\n\n");
  assert.equal(stat.get("rss"), 4096);
  assert.equal(stat.get("swap"), 8192);
  assert.equal(stat.get("total_pgmajfault"), 7);
});

Deno.test("parseBlkioServiceBytes keys v1 byte counts by device", () => {
  const text =
    "7:0 Read 1658880\n7:0 Write 0\n7:0 Sync 1\n7:0 Total 1658880\n8:0 Read 10\n8:0 Write 20\nTotal 1658910\n";
  const devices = parseBlkioServiceBytes(text);
  assert.deepEqual(devices.get("7:0"), { readBytes: 1658880, writeBytes: 0 });
  assert.deepEqual(sumDeviceBytes(devices), { readBytes: 1658890, writeBytes: 20 });
  assert.deepEqual(sumDeviceBytes(devices, ["8:0"]), { readBytes: 10, writeBytes: 20 });
});

Deno.test("parseIoStat keys v2 byte counts by device", () => {
  const devices = parseIoStat("259:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n");
  assert.deepEqual(devices.get("259:0"), { readBytes: 4096, writeBytes: 8192 });
});

Deno.test("parsePressure reads some and full lines", () => {
  const psi = parsePressure(
    "some avg10=1.63 avg60=0.40 avg300=0.09 total=1116957\nfull avg10=1.15 avg60=0.30 avg300=0.07 total=1002576\n",
  );
  assert.deepEqual(psi, {
    someAvg10: 1.63,
    someTotalUs: 1116957,
    fullAvg10: 1.15,
    fullTotalUs: 1002576,
  });
});

Deno.test("workingsetCounters sums anon and file, preferring v1's hierarchical keys", () => {
  const v1 = parseFlatKeyed(
    "workingset_refault_anon 1\nworkingset_refault_file 2\n" +
      "total_workingset_refault_anon 10\ntotal_workingset_refault_file 20\n",
  );
  assert.deepEqual(workingsetCounters(v1), { refaultTotal: 30, activateTotal: null });
  const v2 = parseFlatKeyed(
    "workingset_refault_anon 5\nworkingset_refault_file 6\n" +
      "workingset_activate_anon 1\nworkingset_activate_file 2\n",
  );
  assert.deepEqual(workingsetCounters(v2), { refaultTotal: 11, activateTotal: 3 });
});

Deno.test("workingsetCounters reads pre-5.9 single counters and reports missing ones as null", () => {
  const old = parseFlatKeyed("workingset_refault 7\nworkingset_activate 4\n");
  assert.deepEqual(workingsetCounters(old), { refaultTotal: 7, activateTotal: 4 });
  assert.deepEqual(workingsetCounters(parseFlatKeyed("rss 1\n")), {
    refaultTotal: null,
    activateTotal: null,
  });
});
