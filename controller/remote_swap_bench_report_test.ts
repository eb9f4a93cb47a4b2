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
  seqResidentPagesAfter: 16_384,
  randomPages: 4000,
  randomUs: 400_000,
  randomSwappedPages: 3000,
  randomFaults: 2560,
  faultP50Us: 102,
  faultP99Us: 373,
  badPages: 0,
  fillCpuUs: 500_000,
  seqCpuUs: 1_500_000,
  randomCpuUs: 100_000,
  touchUs: 0,
  mode: "reclaim",
};

// The same device with the limit lifted: 25,600 pages in 0.5 s, 2560 faults in 0.2 s.
const pureReport: ProberReport = {
  ...swapReport,
  seqUs: 500_000,
  seqCpuUs: 200_000,
  randomUs: 200_000,
  touchUs: 1_000_000,
  faultP50Us: 70,
  faultP99Us: 150,
  mode: "pure",
};

const reports = { reclaim: swapReport, pure: pureReport };

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
    readahead: { pageCluster: 3, hostPageCluster: 3, vmaReadahead: true },
    loadAverage: [0.5, 0.4, 0.3],
    loadAverageAtEnd: [1.5, 0.7, 0.4],
    results: [swapFigures("remote (tcp, c engine)", "/dev/loop7", reports)],
    deviceResults: [deviceFigures("remote (tcp, c engine)", "/dev/loop7", deviceReport)],
  };
}

Deno.test("swapFigures turns swapped pages and microseconds into MiB/s and targets met", () => {
  assert.deepEqual(swapFigures("local loop file", "/dev/loop3", reports), {
    device: "/dev/loop3",
    name: "local loop file",
    sequentialSwapInMiBps: 50,
    sequentialCpuPercent: 75,
    randomSwapInMiBps: 25,
    swapOutMiBps: 100,
    faultP50Us: 102,
    faultP99Us: 373,
    randomFaults: 2560,
    pureSequentialSwapInMiBps: 200,
    pureSequentialCpuPercent: 40,
    zeroFillFaultMiBps: 256,
    pureRandomSwapInMiBps: 50,
    pureFaultP50Us: 70,
    pureFaultP99Us: 150,
    pureRandomFaults: 2560,
    badPages: 0,
    meets: { sequential: false, random: false, p99: true },
    meetsPure: { sequential: true, random: true, p99: true },
    engineReadahead: null,
  });
});

Deno.test("formatRemoteSwapBench says how much the engine's read-ahead answered", () => {
  const withReadahead = bench();
  withReadahead.results = [
    swapFigures("remote (tcp, c engine)", "/dev/loop7", {
      ...reports,
      engineReadahead: { hits: 6181, bytes: 194 * 2 ** 20, readBytes: 200 * 2 ** 20 },
    }),
  ];
  assert.match(
    formatRemoteSwapBench(withReadahead),
    /^remote \(tcp, c engine\): engine read-ahead answered 6181 reads, fetched 194 MiB for 200 MiB read \(both swap runs\)$/m,
  );
});

Deno.test("swapFigures counts the pages that read back wrong in both runs", () => {
  const figures = swapFigures("d", "/dev/loop3", {
    reclaim: { ...swapReport, badPages: 1 },
    pure: { ...pureReport, badPages: 2 },
  });
  assert.equal(figures.badPages, 3);
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
    "swap readahead: vm.page-cluster 3 (up to 32 KiB per fault), vma_ra_enabled true",
    "seq cpu: share of the sequential phase the prober spent on CPU (faults, reclaim, check); " +
    "0-fill faults: first writes to fresh pages, no I/O (one thread's fault ceiling)",
    "",
    "swap-in under reclaim       seq swap-in     random 4K      swap-out   fault p50   fault p99     seq cpu",
    "remote (tcp, c engine)       50.0 MiB/s    25.0 MiB/s   100.0 MiB/s      102 us      373 us        75 %",
    "",
    "pure swap-in (no limit)     seq swap-in     random 4K 0-fill faults   fault p50   fault p99     seq cpu",
    "remote (tcp, c engine)      200.0 MiB/s    50.0 MiB/s   256.0 MiB/s       70 us      150 us        40 %",
    "",
    "device, direct I/O             write 1M   seq read 1M     random 4K    read p50    read p99",
    "remote (tcp, c engine)      256.0 MiB/s  1024.0 MiB/s    40.0 MiB/s       96 us     1200 us",
    "",
    "targets: seq >= 150 MiB/s, random 4K >= 30 MiB/s, p99 <= 1000 us (depth 1), " +
    "judged on each table's figures",
    "under reclaim  remote (tcp, c engine)    meets p99; misses seq, random 4K",
    "pure swap-in   remote (tcp, c engine)    meets all (seq, random 4K, p99)",
    "device         remote (tcp, c engine)    meets seq, random 4K; misses p99",
  ]);
});

Deno.test("formatRemoteSwapBench says when the bench set vm.page-cluster for the run", () => {
  const set = bench();
  set.readahead = { pageCluster: 5, hostPageCluster: 3, vmaReadahead: true };
  assert.match(
    formatRemoteSwapBench(set),
    /^swap readahead: vm.page-cluster 5 \(up to 128 KiB per fault; set for this run, the host's 3 restored after it\)/m,
  );
});

Deno.test("formatRemoteSwapBench flags rows with pages that read back wrong", () => {
  const withBad = bench();
  withBad.deviceResults = [
    deviceFigures("local loop file", "/dev/loop3", { ...deviceReport, badPages: 2 }),
  ];
  assert.match(formatRemoteSwapBench(withBad), /^local loop file .* 2 BAD PAGES$/m);
});

Deno.test("the bench document keeps the swap fields and adds the pure swap-in and device figures", () => {
  const document = JSON.parse(JSON.stringify(bench()));
  assert.deepEqual(Object.keys(document), [
    "sizeMiB",
    "cacheMiB",
    "randomPages",
    "targets",
    "readahead",
    "loadAverage",
    "loadAverageAtEnd",
    "results",
    "deviceResults",
  ]);
  assert.equal(document.results[0].sequentialSwapInMiBps, 50);
  assert.equal(document.results[0].pureSequentialSwapInMiBps, 200);
  assert.deepEqual(document.results[0].meetsPure, { sequential: true, random: true, p99: true });
  assert.equal(document.deviceResults[0].sequentialReadMiBps, 1024);
  assert.deepEqual(document.deviceResults[0].meets, { sequential: true, random: true, p99: false });
});
