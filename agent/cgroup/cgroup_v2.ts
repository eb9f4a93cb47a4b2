/**
 * cgroup v2 backend: `memory.max`, `memory.high` (max(T - 256 MiB, 0.9 T)), `memory.swap.max`
 * left at "max" so the app may swap, and `io.max` rbps/wbps on the swap devices. v2 charges
 * swap-out writes to the page's cgroup, so both directions are throttled.
 * @module
 */
import type { EnforceableLimits } from "../protocol.ts";
import type { Cgroup, CgroupSnapshot } from "./cgroup.ts";
import { SPIRIT_CGROUP_PARENT } from "./cgroup.ts";
import { exists, killAndRemove, readControl, readPids, writeControl } from "./files.ts";
import type { CgroupLayout } from "./mounts.ts";
import { memoryHighFor } from "./shrink.ts";
import {
  parseFlatKeyed,
  parseIoStat,
  parsePressure,
  pickDevices,
  sumDeviceBytes,
  workingsetCounters,
} from "./stats.ts";

const PAGE_BYTES = 4096;

/** A cgroup v2 directory. */
export class CgroupV2 implements Cgroup {
  readonly version = 2 as const;
  readonly paths: Record<string, string>;
  readonly owned: boolean;
  #dir: string;
  #io: boolean;

  private constructor(dir: string, io: boolean, owned: boolean) {
    this.#dir = dir;
    this.#io = io;
    this.owned = owned;
    this.paths = { unified: dir };
  }

  /** Creates `spirit/<name>`, enabling memory (and io) for it in the parents. */
  static async create(layout: CgroupLayout, name: string): Promise<CgroupV2> {
    if (layout.memory === null) throw new Error("No v2 memory hierarchy");
    const root = layout.memory.mountPoint;
    const io = layout.io !== null;
    const parent = `${root}/${SPIRIT_CGROUP_PARENT}`;
    const dir = `${parent}/${name}`;
    if (await exists(dir)) throw new Error(`cgroup ${dir} already exists`);
    const enable = io ? "+memory +io" : "+memory";
    await writeControl(`${root}/cgroup.subtree_control`, enable);
    await Deno.mkdir(parent, { recursive: true });
    await writeControl(`${parent}/cgroup.subtree_control`, enable);
    await Deno.mkdir(dir);
    const cgroup = new CgroupV2(dir, io, true);
    try {
      if (await exists(`${dir}/memory.swap.max`)) {
        await writeControl(`${dir}/memory.swap.max`, "max");
      }
    } catch (error) {
      await cgroup.remove();
      throw error;
    }
    return cgroup;
  }

  /** Adopts an existing cgroup `relativePath` of the unified hierarchy. */
  static async adopt(layout: CgroupLayout, relativePath: string): Promise<CgroupV2> {
    if (layout.memory === null) throw new Error("No v2 memory hierarchy");
    const dir = `${layout.memory.mountPoint}${relativePath}`;
    if (!(await exists(`${dir}/memory.max`))) {
      throw new Error(`cgroup ${dir} does not exist or has no memory controller enabled`);
    }
    return new CgroupV2(dir, await exists(`${dir}/io.max`), false);
  }

  procsFiles(): string[] {
    return [`${this.#dir}/cgroup.procs`];
  }

  async writeCacheLimit(bytes: number): Promise<void> {
    const max = Math.floor(bytes);
    const high = memoryHighFor(max);
    // Order keeps high <= max at every moment.
    const current = Number((await readControl(`${this.#dir}/memory.max`))?.trim() ?? "max");
    if (Number.isFinite(current) && max < current) {
      await writeControl(`${this.#dir}/memory.high`, String(high));
      await writeControl(`${this.#dir}/memory.max`, String(max));
    } else {
      await writeControl(`${this.#dir}/memory.max`, String(max));
      await writeControl(`${this.#dir}/memory.high`, String(high));
    }
  }

  async writeBandwidth(devices: readonly string[], bytesPerSec: number): Promise<void> {
    if (!this.#io) return;
    const rate = Math.max(1, Math.floor(bytesPerSec));
    for (const device of devices) {
      await writeControl(`${this.#dir}/io.max`, `${device} rbps=${rate} wbps=${rate}`);
    }
  }

  async clearBandwidth(devices: readonly string[]): Promise<void> {
    if (!this.#io) return;
    for (const device of devices) {
      await writeControl(`${this.#dir}/io.max`, `${device} rbps=max wbps=max`);
    }
  }

  async clearLimits(devices: readonly string[]): Promise<void> {
    await writeControl(`${this.#dir}/memory.high`, "max");
    await writeControl(`${this.#dir}/memory.max`, "max");
    await this.clearBandwidth(devices);
  }

  async readSnapshot(swapDevices: readonly string[]): Promise<CgroupSnapshot> {
    const [current, peak, swapCurrent, statText, ioText, pressureText] = await Promise.all([
      readControl(`${this.#dir}/memory.current`),
      readControl(`${this.#dir}/memory.peak`),
      readControl(`${this.#dir}/memory.swap.current`),
      readControl(`${this.#dir}/memory.stat`),
      this.#io ? readControl(`${this.#dir}/io.stat`) : null,
      readControl(`${this.#dir}/memory.pressure`),
    ]);
    if (current === null || statText === null) throw new Error(`cgroup ${this.#dir} is gone`);
    const stat = parseFlatKeyed(statText);
    const devices = parseIoStat(ioText ?? "");
    const all = sumDeviceBytes(devices);
    const pswpin = stat.get("pswpin");
    const pswpout = stat.get("pswpout");
    return {
      residentBytes: Number(current),
      peakResidentBytes: peak === null ? null : Number(peak),
      swapBytes: swapCurrent === null ? 0 : Number(swapCurrent),
      majorFaults: stat.get("pgmajfault") ?? 0,
      swapInBytes: pswpin === undefined ? null : pswpin * PAGE_BYTES,
      swapOutBytes: pswpout === undefined ? null : pswpout * PAGE_BYTES,
      swapDeviceBytes: this.#io ? pickDevices(devices, swapDevices) : new Map(),
      workingset: workingsetCounters(stat),
      ioReadBytes: all.readBytes,
      ioWriteBytes: all.writeBytes,
      pressure: pressureText === null ? null : parsePressure(pressureText),
    };
  }

  enforceable(devices: readonly string[]): EnforceableLimits {
    const cache = { enforced: true as const, via: "cgroup v2 memory.max and memory.high" };
    if (!this.#io) {
      const reason = "the cgroup v2 io controller is not enabled for this cgroup";
      return {
        cache,
        bandwidthRead: { enforced: false, reason },
        bandwidthWrite: { enforced: false, reason },
      };
    }
    if (devices.length === 0) {
      const reason = "no swap device to throttle (none active or configured)";
      return {
        cache,
        bandwidthRead: { enforced: false, reason },
        bandwidthWrite: { enforced: false, reason },
      };
    }
    const on = devices.join(", ");
    return {
      cache,
      bandwidthRead: { enforced: true, via: `cgroup v2 io.max rbps on ${on}` },
      bandwidthWrite: { enforced: true, via: `cgroup v2 io.max wbps on ${on}` },
    };
  }

  async pids(): Promise<number[]> {
    return await readPids(`${this.#dir}/cgroup.procs`);
  }

  async remove(options: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.owned) return;
    if (await exists(`${this.#dir}/cgroup.kill`)) {
      await writeControl(`${this.#dir}/cgroup.kill`, "1");
    }
    await killAndRemove(this.procsFiles(), [this.#dir], { ...options, removeEmptyParents: true });
  }
}
