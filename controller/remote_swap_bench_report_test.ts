import assert from "node:assert/strict";
import {
  describeTargetsMet,
  deviceFigures,
  formatRemoteSwapBench,
  type RemoteSwapBench,
  swapFigures,
} from "./remote_swap_bench_report.ts";
import type { DeviceProberReport } from "../remote_swap/bench/device_prober.ts";
import type { ProberReport } from "../remote_swap/bench/prober.ts";

// 25,600 pages = 100 MiB; times chosen so the rates come out round.
const swapReport: ProberReport = {
  pages: 65536,
  fillUs: 1_000_000,
  fillSwappedPages: 25_600,
  seqUs: 2_000_000,
  seqSwappedPages: 25_600,
  randomPages: 4000,
  randomUs: 400_000,
  randomSwappedPages: 3000,
  randomFaults: 2560,
  faultP50Us: 102,
  faultP99Us: 373,
  badPages: 0,
};

const deviceReport: DeviceProberReport = {
  bytes: 256 * 2 ** 20,
  writeUs: 1_000_000,
  seqReadUs: 250_000,
  randomReads: 2560,
  randomUs: 250_000,
  readP50Us: 95.5,
  readP99Us: 1200,
  badPages: 0,
};

function bench(): RemoteSwapBench {
  return {
    sizeMiB: 256,
    cacheMiB: 64,
    randomPages: 4000,
    targets: { sequentialSwapInMiBps: 150, randomSwapInMiBps: 30, faultP99Us: 1000 },
    loadAverage: [0.5, 0.4, 0.3],
    loadAverageAtEnd: [1.5, 0.7, 0.4],
    results: [swapFigures("remote (tcp, c engine)", "/dev/loop7", swapReport)],
    deviceResults: [deviceFigures("remote (tcp, c engine)", "/dev/loop7", deviceReport)],
  };
}

Deno.test("swapFigures turns swapped pages and microseconds into MiB/s and targets met", () => {
  assert.deepEqual(swapFigures("local loop file", "/dev/loop3", swapReport), {
    device: "/dev/loop3",
    name: "local loop file",
    sequentialSwapInMiBps: 50,
    randomSwapInMiBps: 25,
    swapOutMiBps: 100,
    faultP50Us: 102,
    faultP99Us: 373,
    randomFaults: 2560,
    badPages: 0,
    meets: { sequential: false, random: false, p99: true },
  });
});

Deno.test("deviceFigures turns bytes and microseconds into MiB/s and targets met", () => {
  assert.deepEqual(deviceFigures("local loop file", "/dev/loop3", deviceReport), {
    device: "/dev/loop3",
    name: "local loop file",
    writeMiBps: 256,
    sequentialReadMiBps: 1024,
    randomReadMiBps: 40,
    readP50Us: 95.5,
    readP99Us: 1200,
    randomReads: 2560,
    bytes: 256 * 2 ** 20,
    badPages: 0,
    meets: { sequential: true, random: true, p99: false },
  });
});

Deno.test("deviceFigures reports a zero-length phase as 0 MiB/s, not Infinity", () => {
  const figures = deviceFigures("d", "/dev/loop3", { ...deviceReport, writeUs: 0 });
  assert.equal(figures.writeMiBps, 0);
});

Deno.test("describeTargetsMet names the targets met and missed", () => {
  assert.equal(
    describeTargetsMet({ sequential: true, random: true, p99: true }),
    "meets all (seq, random 4K, p99)",
  );
  assert.equal(
    describeTargetsMet({ sequential: false, random: true, p99: true }),
    "meets random 4K, p99; misses seq",
  );
  assert.equal(
    describeTargetsMet({ sequential: false, random: false, p99: false }),
    "meets none (misses seq, random 4K, p99)",
  );
});

Deno.test("formatRemoteSwapBench prints the swap table, the device table and targets met", () => {
  const lines = formatRemoteSwapBench(bench()).split("\n");
  assert.deepEqual(lines, [
    "prober: 256 MiB under a 64 MiB cgroup limit, 4000 random 4 KiB reads; " +
    "load average at start 0.5 0.4 0.3, at end 1.5 0.7 0.4",
    "",
    "swap path                   seq swap-in     random 4K      swap-out   fault p50   fault p99",
    "remote (tcp, c engine)       50.0 MiB/s    25.0 MiB/s   100.0 MiB/s      102 us      373 us",
    "",
    "device, direct I/O             write 1M   seq read 1M     random 4K    read p50    read p99",
    "remote (tcp, c engine)      256.0 MiB/s  1024.0 MiB/s    40.0 MiB/s       96 us     1200 us",
    "",
    "targets: seq >= 150 MiB/s, random 4K >= 30 MiB/s, p99 <= 1000 us (depth 1)",
    "swap path  remote (tcp, c engine)    meets p99; misses seq, random 4K",
    "device     remote (tcp, c engine)    meets seq, random 4K; misses p99",
  ]);
});

Deno.test("formatRemoteSwapBench flags rows with pages that read back wrong", () => {
  const withBad = bench();
  withBad.deviceResults = [
    deviceFigures("local loop file", "/dev/loop3", { ...deviceReport, badPages: 2 }),
  ];
  assert.match(formatRemoteSwapBench(withBad), /^local loop file .* 2 BAD PAGES$/m);
});

Deno.test("the bench document keeps the swap fields and adds the device figures", () => {
  const document = JSON.parse(JSON.stringify(bench()));
  assert.deepEqual(Object.keys(document), [
    "sizeMiB",
    "cacheMiB",
    "randomPages",
    "targets",
    "loadAverage",
    "loadAverageAtEnd",
    "results",
    "deviceResults",
  ]);
  assert.equal(document.results[0].sequentialSwapInMiBps, 50);
  assert.equal(document.deviceResults[0].sequentialReadMiBps, 1024);
  assert.deepEqual(document.deviceResults[0].meets, { sequential: true, random: true, p99: false });
});
