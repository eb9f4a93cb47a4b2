import assert from "node:assert/strict";
import { busyCpus, parseProcStat, sampleCpu } from "./machine_load.ts";

const STAT = [
  "cpu  100 5 50 800 20 3 2 10 7 0",
  "cpu0 50 2 25 400 10 1 1 5 3 0",
  "intr 12345",
].join("\n");

Deno.test("parseProcStat counts user, nice, system, irq, softirq and steal as busy", () => {
  // busy = 100 + 5 + 50 + 3 + 2 + 10; idle and iowait are not busy; guest is inside user.
  assert.deepEqual(parseProcStat(STAT), { busy: 170, total: 990 });
});

Deno.test("parseProcStat names what is wrong with a bad file", () => {
  assert.throws(() => parseProcStat("intr 1\n"), /no aggregate cpu line/);
  assert.throws(() => parseProcStat("cpu  1 x 3 4 5\n"), /cannot read the cpu line/);
});

Deno.test("busyCpus averages over the readings inside the window only", () => {
  const readings = [
    { atMs: 0, busy: 0, total: 0 },
    { atMs: 1000, busy: 100, total: 200 }, // window starts: 2 CPUs, 100 jiffies each per s
    { atMs: 2000, busy: 250, total: 400 },
    { atMs: 3000, busy: 350, total: 600 }, // window ends
    { atMs: 4000, busy: 550, total: 800 },
  ];
  // (350 - 100) busy of (600 - 200) jiffies, on 2 CPUs: 1.25 busy CPUs.
  assert.equal(busyCpus(readings, 1000, 3000, 2), 1.25);
  assert.equal(busyCpus(readings, 0, 4000, 2), 1.375);
  assert.ok(Number.isNaN(busyCpus(readings, 1500, 1900, 2)), "no reading in the window");
  assert.ok(Number.isNaN(busyCpus(readings, 2000, 2500, 2)), "one reading is not a stretch");
});

Deno.test("sampleCpu reads this machine's /proc/stat until stopped", async () => {
  const sampler = sampleCpu(20);
  await new Promise((resolve) => setTimeout(resolve, 120));
  const readings = sampler.stop();
  assert.ok(readings.length >= 3, `only ${readings.length} readings`);
  for (let i = 1; i < readings.length; i++) {
    const [a, b] = [readings[i - 1], readings[i]];
    assert.ok(a !== undefined && b !== undefined && b.total >= a.total && b.atMs >= a.atMs);
  }
  const first = readings[0]?.atMs ?? NaN;
  const last = readings.at(-1)?.atMs ?? NaN;
  const busy = busyCpus(readings, first, last, navigator.hardwareConcurrency);
  assert.ok(busy >= 0 && busy <= navigator.hardwareConcurrency, `busy ${busy}`);
});
