/**
 * perf_event_open(2) behind safe classes: counting events (read with `read(2)`) and sampling
 * events with an mmap'd ring buffer. The `perf_event_attr` layout is encoded here (version 7,
 * 128 bytes), so callers never touch raw memory.
 * @module
 */
import {
  closeFd,
  Errno,
  ErrnoError,
  ioctl,
  type Mapping,
  mmapFd,
  pageSize,
  perfEventOpen,
  readFd,
} from "./libc.ts";

/** `perf_event_attr.type` values. */
export const PerfType = { HARDWARE: 0, SOFTWARE: 1, TRACEPOINT: 2, HW_CACHE: 3, RAW: 4 } as const;

/** Software event configs (`PERF_COUNT_SW_*`), available without hardware counters. */
export const SoftwareEvent = {
  CPU_CLOCK: 0,
  TASK_CLOCK: 1,
  PAGE_FAULTS: 2,
  CONTEXT_SWITCHES: 3,
  CPU_MIGRATIONS: 4,
  PAGE_FAULTS_MIN: 5,
  PAGE_FAULTS_MAJ: 6,
} as const;

/** Hardware event configs (`PERF_COUNT_HW_*`). */
export const HardwareEvent = {
  CPU_CYCLES: 0,
  INSTRUCTIONS: 1,
  CACHE_REFERENCES: 2,
  CACHE_MISSES: 3,
} as const;

/** `PERF_COUNT_HW_CACHE_LL | (OP_READ << 8) | (RESULT_MISS << 16)`: last-level cache read misses. */
export const HW_CACHE_LL_READ_MISS = 2 | (0 << 8) | (1 << 16);

/** `perf_event_attr.sample_type` bits used here. */
export const SampleType = { IP: 1n << 0n, TID: 1n << 1n, TIME: 1n << 2n, ADDR: 1n << 3n } as const;

/** Size of `struct perf_event_attr` as written (PERF_ATTR_SIZE_VER7). */
export const PERF_ATTR_SIZE = 128;

/** Byte offsets of `struct perf_event_attr` fields (linux/perf_event.h). */
export const PERF_ATTR_OFFSETS = {
  type: 0,
  size: 4,
  config: 8,
  samplePeriod: 16,
  sampleType: 24,
  readFormat: 32,
  flags: 40,
  wakeupEvents: 48,
  bpType: 52,
  config1: 56,
  config2: 64,
} as const;

/** Bit positions in the `perf_event_attr` flags word. */
export const AttrFlag = {
  disabled: 0n,
  inherit: 1n,
  excludeKernel: 5n,
  excludeHv: 6n,
  precisePipShift: 15n,
} as const;

/** What to count or sample; fields mirror `struct perf_event_attr`. */
export interface PerfEventAttr {
  type: number;
  config: number | bigint;
  /** Sampling period (events per sample); 0 for counting. */
  samplePeriod?: number;
  sampleType?: bigint;
  disabled?: boolean;
  /** Count child tasks created after the event was opened. */
  inherit?: boolean;
  excludeKernel?: boolean;
  excludeHv?: boolean;
  /** 0-3: skid constraint; 2 or 3 request PEBS on Intel. */
  preciseIp?: 0 | 1 | 2 | 3;
  wakeupEvents?: number;
  config1?: number | bigint;
}

/** Encodes a `struct perf_event_attr` (pure; exported for layout tests). */
export function encodePerfEventAttr(attr: PerfEventAttr): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(PERF_ATTR_SIZE);
  const view = new DataView(bytes.buffer);
  const o = PERF_ATTR_OFFSETS;
  view.setUint32(o.type, attr.type, true);
  view.setUint32(o.size, PERF_ATTR_SIZE, true);
  view.setBigUint64(o.config, BigInt(attr.config), true);
  view.setBigUint64(o.samplePeriod, BigInt(attr.samplePeriod ?? 0), true);
  view.setBigUint64(o.sampleType, attr.sampleType ?? 0n, true);
  let flags = 0n;
  if (attr.disabled) flags |= 1n << AttrFlag.disabled;
  if (attr.inherit) flags |= 1n << AttrFlag.inherit;
  if (attr.excludeKernel) flags |= 1n << AttrFlag.excludeKernel;
  if (attr.excludeHv) flags |= 1n << AttrFlag.excludeHv;
  flags |= BigInt(attr.preciseIp ?? 0) << AttrFlag.precisePipShift;
  view.setBigUint64(o.flags, flags, true);
  view.setUint32(o.wakeupEvents, attr.wakeupEvents ?? 0, true);
  view.setBigUint64(o.config1, BigInt(attr.config1 ?? 0), true);
  return bytes;
}

const PERF_EVENT_IOC_ENABLE = 0x2400;
const PERF_EVENT_IOC_DISABLE = 0x2401;
const PERF_FLAG_FD_CLOEXEC = 8n;

/** Where an event is attached: a process (all CPUs) or a CPU (all processes). */
export interface PerfTarget {
  /** Process id; 0 is the calling process, -1 means any process on `cpu`. */
  pid: number;
  /** CPU number, or -1 for any CPU. */
  cpu?: number;
}

/** One open perf event file descriptor; closed once by `close()`. */
class PerfEventFd {
  #fd: number | null;
  constructor(attr: PerfEventAttr, target: PerfTarget) {
    this.#fd = perfEventOpen(encodePerfEventAttr(attr), {
      pid: target.pid,
      cpu: target.cpu ?? -1,
      flags: PERF_FLAG_FD_CLOEXEC,
    });
  }
  protected get fd(): number {
    if (this.#fd === null) throw new Error("The perf event is closed");
    return this.#fd;
  }
  /** Starts counting or sampling. */
  enable(): void {
    ioctl(this.fd, PERF_EVENT_IOC_ENABLE);
  }
  /** Stops counting or sampling. */
  disable(): void {
    ioctl(this.fd, PERF_EVENT_IOC_DISABLE);
  }
  /** Closes the descriptor (idempotent). */
  close(): void {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    closeFd(fd);
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/** A counting perf event; `read()` returns the current 64-bit count. */
export class PerfCounter extends PerfEventFd {
  #buffer = new Uint8Array(8);
  /** Opens a counter; throws ErrnoError (ENOENT, EOPNOTSUPP, ...) if the event is unsupported. */
  constructor(attr: PerfEventAttr, target: PerfTarget) {
    super(attr, target);
  }
  /** The current count (for TASK_CLOCK: nanoseconds of CPU time). */
  read(): bigint {
    const n = readFd(this.fd, this.#buffer);
    if (n !== 8) throw new Error(`Short read of perf counter: ${n} bytes`);
    return new DataView(this.#buffer.buffer).getBigUint64(0, true);
  }
}

/** One PERF_RECORD_SAMPLE with TID and ADDR. */
export interface AddressSample {
  pid: number;
  tid: number;
  addr: bigint;
}

const PERF_RECORD_SAMPLE = 9;
const PERF_RECORD_LOST = 2;
// struct perf_event_mmap_page: data_head, data_tail, data_offset, data_size.
const DATA_HEAD = 1024;
const DATA_TAIL = 1032;

/**
 * A sampling event with sample_type TID|ADDR and an mmap'd ring buffer of 2^n data pages.
 * Used for PEBS data-address sampling where hardware counters exist.
 */
export class PerfAddressSampler extends PerfEventFd {
  #mapping: Mapping;
  #dataOffset: number;
  #dataSize: number;
  /** Samples dropped by the kernel because the ring was full. */
  lost = 0n;
  /** Opens the event and maps 1 + `dataPages` pages (`dataPages` a power of two). */
  constructor(attr: PerfEventAttr, target: PerfTarget & { dataPages?: number }) {
    super({ ...attr, sampleType: SampleType.TID | SampleType.ADDR }, target);
    const dataPages = target.dataPages ?? 64;
    if ((dataPages & (dataPages - 1)) !== 0) {
      throw new RangeError(`dataPages must be a power of two, got ${dataPages}`);
    }
    const page = pageSize();
    try {
      this.#mapping = mmapFd(this.fd, page * (1 + dataPages), { writable: true });
    } catch (error) {
      super.close();
      throw error;
    }
    this.#dataOffset = page;
    this.#dataSize = page * dataPages;
  }
  /** Reads and consumes all complete samples currently in the ring. */
  drain(): AddressSample[] {
    const ring = this.#mapping.bytes();
    const view = new DataView(ring);
    const head = view.getBigUint64(DATA_HEAD, true);
    let tail = view.getBigUint64(DATA_TAIL, true);
    const samples: AddressSample[] = [];
    const size = BigInt(this.#dataSize);
    const byteAt = (position: bigint) => this.#dataOffset + Number(position % size);
    const record = new Uint8Array(65536);
    while (tail < head) {
      const headerStart = byteAt(tail);
      const type = view.getUint32(headerStart, true);
      const length = view.getUint16(headerStart + 6, true);
      if (length === 0) break;
      for (let i = 0; i < length; i++) record[i] = view.getUint8(byteAt(tail + BigInt(i)));
      const rv = new DataView(record.buffer, 0, length);
      if (type === PERF_RECORD_SAMPLE && length >= 24) {
        samples.push({
          pid: rv.getUint32(8, true),
          tid: rv.getUint32(12, true),
          addr: rv.getBigUint64(16, true),
        });
      } else if (type === PERF_RECORD_LOST && length >= 24) {
        this.lost += rv.getBigUint64(16, true);
      }
      tail += BigInt(length);
    }
    view.setBigUint64(DATA_TAIL, tail, true);
    return samples;
  }
  /** Unmaps the ring and closes the descriptor (idempotent). */
  override close(): void {
    this.#mapping.close();
    super.close();
  }
}

/**
 * Whether this machine exposes hardware performance counters to perf_event_open
 * (opens and closes a CPU-cycles counter on the calling process).
 */
export function hardwareCountersAvailable(): boolean {
  try {
    new PerfCounter({
      type: PerfType.HARDWARE,
      config: HardwareEvent.CPU_CYCLES,
      excludeKernel: true,
    }, {
      pid: 0,
    }).close();
    return true;
  } catch (error) {
    if (error instanceof ErrnoError && UNSUPPORTED.has(error.errno)) return false;
    throw error;
  }
}

const UNSUPPORTED = new Set<number>([
  Errno.ENOENT,
  Errno.EOPNOTSUPP,
  Errno.ENODEV,
  Errno.EINVAL,
  Errno.EACCES,
]);

/** Opens a software counter (`PERF_COUNT_SW_*`) on a process and its future children. */
export function openSoftwareCounter(config: number, pid: number): PerfCounter {
  return new PerfCounter({ type: PerfType.SOFTWARE, config, inherit: true }, { pid });
}
