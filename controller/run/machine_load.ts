/**
 * How busy this machine's CPUs were over a stretch of wall time, from /proc/stat: the
 * controller benchmark reports it next to its figures, because every simulated host shares
 * this machine's cores with the controller.
 * @module
 */

/** One reading of /proc/stat's first line: busy and total jiffies, at a wall time. */
export interface CpuReading {
  atMs: number;
  busy: number;
  total: number;
}

/** Busy and total jiffies of /proc/stat's aggregate `cpu` line (pure). */
export function parseProcStat(text: string): { busy: number; total: number } {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (line === undefined) throw new Error("/proc/stat has no aggregate cpu line");
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  if (fields.length < 5 || fields.some((n) => !Number.isFinite(n))) {
    throw new Error(`/proc/stat: cannot read the cpu line: ${line}`);
  }
  // user nice system idle iowait irq softirq steal ...; guest time is already in user.
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
    fields;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/**
 * Average busy CPUs between `fromMs` and `toMs` (wall time), from the first reading at or
 * after `fromMs` to the last at or before `toMs`: NaN with fewer than two such readings (pure).
 */
export function busyCpus(
  readings: readonly CpuReading[],
  fromMs: number,
  toMs: number,
  cpus: number,
): number {
  const inside = readings.filter((r) => r.atMs >= fromMs && r.atMs <= toMs);
  const first = inside[0];
  const last = inside.at(-1);
  if (first === undefined || last === undefined || last === first) return NaN;
  const total = last.total - first.total;
  return total > 0 ? ((last.busy - first.busy) / total) * cpus : NaN;
}

/** Reads /proc/stat every `intervalMs` until `stop()`, which returns the readings. */
export function sampleCpu(intervalMs = 500): { stop(): CpuReading[] } {
  const readings: CpuReading[] = [];
  const read = () => {
    try {
      readings.push({ atMs: Date.now(), ...parseProcStat(Deno.readTextFileSync("/proc/stat")) });
    } catch (error) {
      // Without /proc/stat (not Linux) the figure is simply absent (NaN).
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  };
  read();
  const timer = setInterval(read, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      read();
      return readings;
    },
  };
}
