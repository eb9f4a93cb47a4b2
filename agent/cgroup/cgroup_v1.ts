/**
 * cgroup v1 backend: `memory.limit_in_bytes` (with `memory.memsw.limit_in_bytes` left unlimited
 * where swap accounting exists, so the app may swap), `blkio.throttle.read_bps_device` and
 * `write_bps_device`. Swap-out writes are issued by reclaim and are not charged to the app's
 * blkio cgroup on v1, so write throttling does not limit them.
 * @module
 */
import type { EnforceableLimits } from "../protocol.ts";
import type { Cgroup, CgroupSnapshot } from "./cgroup.ts";
import { SPIRIT_CGROUP_PARENT } from "./cgroup.ts";
import { exists, killAndRemove, readControl, readPids, writeControl } from "./files.ts";
import type { CgroupLayout } from "./mounts.ts";
import {
  parseBlkioServiceBytes,
  parseFlatKeyed,
  pickDevices,
  sumDeviceBytes,
  workingsetCounters,
} from "./stats.ts";

/** The smallest throttle written; the kernel reads 0 as "no limit". */
export const MIN_THROTTLE_BYTES_PER_SEC = 4096;

/** A cgroup v1 pair of directories (memory, and blkio when mounted). */
export class CgroupV1 implements Cgroup {
  readonly version = 1 as const;
  readonly paths: Record<string, string>;
  readonly owned: boolean;
  #memory: string;
  #blkio: string | null;

  private constructor(memory: string, blkio: string | null, owned: boolean) {
    this.#memory = memory;
    this.#blkio = blkio;
    this.owned = owned;
    this.paths = blkio === null ? { memory } : { memory, blkio };
  }

  /** Creates `spirit/<name>` in the memory and blkio hierarchies. */
  static async create(layout: CgroupLayout, name: string): Promise<CgroupV1> {
    if (layout.memory === null) throw new Error("No v1 memory hierarchy");
    const memory = `${layout.memory.mountPoint}/${SPIRIT_CGROUP_PARENT}/${name}`;
    const blkio = layout.io === null
      ? null
      : `${layout.io.mountPoint}/${SPIRIT_CGROUP_PARENT}/${name}`;
    for (const dir of [memory, blkio]) {
      if (dir === null) continue;
      if (await exists(dir)) throw new Error(`cgroup ${dir} already exists`);
    }
    await Deno.mkdir(memory, { recursive: true });
    const cgroup = new CgroupV1(memory, blkio, true);
    try {
      if (blkio !== null) await Deno.mkdir(blkio, { recursive: true });
      // Swap allowed: memory+swap unlimited where swap accounting exists.
      if (await exists(`${memory}/memory.memsw.limit_in_bytes`)) {
        await writeControl(`${memory}/memory.memsw.limit_in_bytes`, "-1");
      }
    } catch (error) {
      await cgroup.remove();
      throw error;
    }
    return cgroup;
  }

  /** Adopts an existing cgroup `relativePath` in the memory (and blkio) hierarchies. */
  static async adopt(layout: CgroupLayout, relativePath: string): Promise<CgroupV1> {
    if (layout.memory === null) throw new Error("No v1 memory hierarchy");
    const memory = `${layout.memory.mountPoint}${relativePath}`;
    if (!(await exists(memory))) throw new Error(`cgroup ${memory} does not exist`);
    const blkioPath = layout.io === null ? null : `${layout.io.mountPoint}${relativePath}`;
    const blkio = blkioPath !== null && await exists(blkioPath) ? blkioPath : null;
    return new CgroupV1(memory, blkio, false);
  }

  procsFiles(): string[] {
    return Object.values(this.paths).map((dir) => `${dir}/cgroup.procs`);
  }

  async writeCacheLimit(bytes: number): Promise<void> {
    await writeControl(`${this.#memory}/memory.limit_in_bytes`, String(Math.floor(bytes)));
  }

  async writeBandwidth(devices: readonly string[], bytesPerSec: number): Promise<void> {
    if (this.#blkio === null) return;
    const rate = Math.max(MIN_THROTTLE_BYTES_PER_SEC, Math.floor(bytesPerSec));
    for (const device of devices) {
      await writeControl(`${this.#blkio}/blkio.throttle.read_bps_device`, `${device} ${rate}`);
      await writeControl(`${this.#blkio}/blkio.throttle.write_bps_device`, `${device} ${rate}`);
    }
  }

  async clearBandwidth(devices: readonly string[]): Promise<void> {
    if (this.#blkio === null) return;
    for (const device of devices) {
      await writeControl(`${this.#blkio}/blkio.throttle.read_bps_device`, `${device} 0`);
      await writeControl(`${this.#blkio}/blkio.throttle.write_bps_device`, `${device} 0`);
    }
  }

  async clearLimits(devices: readonly string[]): Promise<void> {
    await writeControl(`${this.#memory}/memory.limit_in_bytes`, "-1");
    await this.clearBandwidth(devices);
  }

  async readSnapshot(swapDevices: readonly string[]): Promise<CgroupSnapshot> {
    const [usage, peak, statText, ioText] = await Promise.all([
      readControl(`${this.#memory}/memory.usage_in_bytes`),
      readControl(`${this.#memory}/memory.max_usage_in_bytes`),
      readControl(`${this.#memory}/memory.stat`),
      this.#blkio === null
        ? null
        : readControl(`${this.#blkio}/blkio.throttle.io_service_bytes_recursive`),
    ]);
    if (usage === null || statText === null) throw new Error(`cgroup ${this.#memory} is gone`);
    const stat = parseFlatKeyed(statText);
    const devices = parseBlkioServiceBytes(ioText ?? "");
    const all = sumDeviceBytes(devices);
    return {
      residentBytes: Number(usage),
      peakResidentBytes: peak === null ? null : Number(peak),
      swapBytes: stat.get("total_swap") ?? stat.get("swap") ?? 0,
      majorFaults: stat.get("total_pgmajfault") ?? stat.get("pgmajfault") ?? 0,
      // v1 counts swap-ins only as block reads on the swap devices (swapDeviceBytes).
      swapInBytes: null,
      swapOutBytes: null,
      swapDeviceBytes: pickDevices(devices, swapDevices),
      workingset: workingsetCounters(stat),
      ioReadBytes: all.readBytes,
      ioWriteBytes: all.writeBytes,
      pressure: null,
    };
  }

  enforceable(devices: readonly string[]): EnforceableLimits {
    const cache = { enforced: true as const, via: "cgroup v1 memory.limit_in_bytes" };
    if (this.#blkio === null) {
      const reason = "the cgroup v1 blkio controller is not mounted";
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
    return {
      cache,
      bandwidthRead: {
        enforced: true,
        via: `cgroup v1 blkio.throttle.read_bps_device on ${devices.join(", ")}`,
      },
      bandwidthWrite: {
        enforced: false,
        reason:
          "cgroup v1 does not charge swap-out writes (issued by reclaim) to the app's blkio cgroup, " +
          "so blkio.throttle.write_bps_device does not limit them",
      },
    };
  }

  async pids(): Promise<number[]> {
    return await readPids(`${this.#memory}/cgroup.procs`);
  }

  async remove(options: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.owned) return;
    await killAndRemove(this.procsFiles(), Object.values(this.paths), {
      ...options,
      removeEmptyParents: true,
    });
  }
}
