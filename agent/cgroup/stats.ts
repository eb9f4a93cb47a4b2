/**
 * Parsers of cgroup and /proc statistics files (pure).
 * @module
 */

/** Parses "key value" lines (memory.stat, /proc/vmstat) into numbers. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === undefined || value === undefined) continue;
    const number = Number(value);
    if (Number.isFinite(number)) values.set(key, number);
  }
  return values;
}

/** Read and write byte counts of one block device. */
export interface DeviceBytes {
  readBytes: number;
  writeBytes: number;
}

/**
 * Parses v1 `blkio.throttle.io_service_bytes[_recursive]` ("8:0 Read 4096" lines) into
 * per-device byte counts keyed by "major:minor".
 */
export function parseBlkioServiceBytes(text: string): Map<string, DeviceBytes> {
  const devices = new Map<string, DeviceBytes>();
  for (const line of text.split("\n")) {
    const [device, operation, value] = line.trim().split(/\s+/);
    if (device === undefined || value === undefined || !/^\d+:\d+$/.test(device)) continue;
    const entry = devices.get(device) ?? { readBytes: 0, writeBytes: 0 };
    if (operation === "Read") entry.readBytes = Number(value);
    else if (operation === "Write") entry.writeBytes = Number(value);
    else continue;
    devices.set(device, entry);
  }
  return devices;
}

/** Parses v2 `io.stat` ("8:0 rbytes=1 wbytes=2 rios=3 ...") into per-device byte counts. */
export function parseIoStat(text: string): Map<string, DeviceBytes> {
  const devices = new Map<string, DeviceBytes>();
  for (const line of text.split("\n")) {
    const [device, ...fields] = line.trim().split(/\s+/);
    if (device === undefined || !/^\d+:\d+$/.test(device)) continue;
    const values = new Map(fields.map((f) => f.split("=") as [string, string]));
    devices.set(device, {
      readBytes: Number(values.get("rbytes") ?? 0),
      writeBytes: Number(values.get("wbytes") ?? 0),
    });
  }
  return devices;
}

/** One PSI file (`some` and `full` lines). */
export interface PressureStats {
  someAvg10: number;
  someTotalUs: number;
  fullAvg10: number;
  fullTotalUs: number;
}

/** Parses a PSI file such as /proc/pressure/memory or a v2 cgroup's memory.pressure. */
export function parsePressure(text: string): PressureStats {
  const line = (kind: string) => {
    const match = new RegExp(`^${kind} avg10=([0-9.]+) .* total=([0-9]+)`, "m").exec(text);
    return { avg10: Number(match?.[1] ?? 0), total: Number(match?.[2] ?? 0) };
  };
  const some = line("some");
  const full = line("full");
  return {
    someAvg10: some.avg10,
    someTotalUs: some.total,
    fullAvg10: full.avg10,
    fullTotalUs: full.total,
  };
}

/** The entries of `devices` whose "major:minor" is in `only`. */
export function pickDevices(
  devices: ReadonlyMap<string, DeviceBytes>,
  only: readonly string[],
): Map<string, DeviceBytes> {
  return new Map([...devices].filter(([device]) => only.includes(device)));
}

/** Sums read and write bytes over some devices (all when `only` is omitted). */
export function sumDeviceBytes(
  devices: Map<string, DeviceBytes>,
  only?: readonly string[],
): DeviceBytes {
  let readBytes = 0;
  let writeBytes = 0;
  for (const [device, bytes] of devices) {
    if (only !== undefined && !only.includes(device)) continue;
    readBytes += bytes.readBytes;
    writeBytes += bytes.writeBytes;
  }
  return { readBytes, writeBytes };
}

/** Working-set counters of a memory.stat: cumulative event counts, anon + file. */
export interface WorkingsetCounters {
  /** Refaults: pages read back soon after eviction (the working set did not fit). */
  refaultTotal: number | null;
  /** Refaulted pages activated at once (they were part of the working set). */
  activateTotal: number | null;
}

/**
 * The `workingset_refault_*` and `workingset_activate_*` counters of a parsed memory.stat
 * (cgroup v2, and v1 on kernels that have them, preferring v1's hierarchical `total_` keys;
 * kernels before 5.9 have one `workingset_refault` without the anon/file split). A counter
 * the kernel does not report is null, never 0.
 */
export function workingsetCounters(stat: ReadonlyMap<string, number>): WorkingsetCounters {
  const counter = (name: string): number | null => {
    for (const prefix of ["total_", ""]) {
      const anon = stat.get(`${prefix}${name}_anon`);
      const file = stat.get(`${prefix}${name}_file`);
      if (anon !== undefined || file !== undefined) return (anon ?? 0) + (file ?? 0);
      const single = stat.get(`${prefix}${name}`);
      if (single !== undefined) return single;
    }
    return null;
  };
  return {
    refaultTotal: counter("workingset_refault"),
    activateTotal: counter("workingset_activate"),
  };
}
