/**
 * Safe wrappers over libibverbs: device discovery, protection domains, memory regions,
 * completion channels and completion queues. Raw handles live in `#private` fields; every
 * wrapper has an idempotent `close()` and `[Symbol.dispose]`. errno is read right after each
 * synchronous call (see `withErrno`).
 * @module
 */
import { LibraryLoadError, openLibrary } from "./library.ts";
import { IBVERBS_PATHS, IBVERBS_SYMBOLS } from "./ibverbs_symbols.ts";
import { errnoText, withErrno } from "./rdma_libc.ts";
import { LAYOUTS } from "./verbs_structs.ts";

declare const brand: unique symbol;
/** A non-NULL C pointer known to point at a `T` (compile-time brand only). */
export type Ptr<T extends string> = Deno.PointerObject & { readonly [brand]: T };
/** `struct ibv_context *`. */
export type IbvContextPtr = Ptr<"ibv_context">;
/** `struct ibv_pd *`. */
export type IbvPdPtr = Ptr<"ibv_pd">;
/** `struct ibv_mr *`. */
export type IbvMrPtr = Ptr<"ibv_mr">;
/** `struct ibv_cq *`. */
export type IbvCqPtr = Ptr<"ibv_cq">;
/** `struct ibv_qp *`. */
export type IbvQpPtr = Ptr<"ibv_qp">;
/** `struct ibv_comp_channel *`. */
export type IbvCompChannelPtr = Ptr<"ibv_comp_channel">;

/** Brands a pointer read from C as a `T`; null stays null. */
export function brandPointer<T extends string>(pointer: Deno.PointerValue): Ptr<T> | null {
  return pointer as Ptr<T> | null;
}

/** Reads the pointer stored at `base + offset`. */
export function readPointer(base: Deno.PointerObject, offset: number): Deno.PointerValue {
  return new Deno.UnsafePointerView(base).getPointer(offset);
}

/** A failed verbs or CM call, with the C function's name and errno. */
export class RdmaError extends Error {
  readonly call: string;
  readonly errno: number;
  constructor(call: string, errno: number, detail = "") {
    const reason = errno === 0 ? "failed" : `failed: ${errnoText(errno)} (errno ${errno})`;
    super(`${call} ${reason}${detail === "" ? "" : `; ${detail}`}`);
    this.name = "RdmaError";
    this.call = call;
    this.errno = errno;
  }
}

let ibverbs: { path: string; library: Deno.DynamicLibrary<typeof IBVERBS_SYMBOLS> } | undefined;

/**
 * libibverbs, loaded once; SPIRIT_LIBIBVERBS names another file (e.g. the test double). A
 * changed SPIRIT_LIBIBVERBS loads that file instead (tests switch between the host library
 * and the double in one process; the previous library stays loaded).
 */
export function loadIbverbs(): Deno.DynamicLibrary<typeof IBVERBS_SYMBOLS>["symbols"] {
  const path = Deno.env.get("SPIRIT_LIBIBVERBS") ?? "";
  if (ibverbs === undefined || ibverbs.path !== path) {
    ibverbs = {
      path,
      library: openLibrary("libibverbs", IBVERBS_PATHS, IBVERBS_SYMBOLS, {
        envOverride: "SPIRIT_LIBIBVERBS",
      }),
    };
  }
  return ibverbs.library.symbols;
}

/** Limits of an RDMA device (from `ibv_query_device`). */
export interface DeviceLimits {
  readonly maxQpWr: number;
  readonly maxCqe: number;
  readonly maxSge: number;
  readonly maxQpRdAtom: number;
  readonly maxQpInitRdAtom: number;
  readonly maxMrSizeBytes: number;
}

/** Queries a device context's limits. */
export function queryDevice(context: IbvContextPtr): DeviceLimits {
  const attr = new Uint8Array(LAYOUTS.ibv_device_attr.size);
  const { result, errno } = withErrno(() => loadIbverbs().ibv_query_device(context, attr));
  // ibv_query_device returns an errno value (not -1) on failure.
  if (result !== 0) throw new RdmaError("ibv_query_device", errno === 0 ? result : errno);
  const view = new DataView(attr.buffer);
  const f = LAYOUTS.ibv_device_attr.fields;
  return {
    maxQpWr: view.getInt32(f.max_qp_wr, true),
    maxCqe: view.getInt32(f.max_cqe, true),
    maxSge: view.getInt32(f.max_sge, true),
    maxQpRdAtom: view.getInt32(f.max_qp_rd_atom, true),
    maxQpInitRdAtom: view.getInt32(f.max_qp_init_rd_atom, true),
    maxMrSizeBytes: Number(view.getBigUint64(f.max_mr_size, true)),
  };
}

/** One RDMA device as seen by `ibv_get_device_list`. */
export interface RdmaDevice {
  readonly name: string;
  /** Limits, when the device could be opened and queried. */
  readonly limits?: DeviceLimits;
}

/** RDMA availability on this host: the devices, or why there are none. */
export type RdmaAvailability =
  | { readonly available: true; readonly devices: readonly RdmaDevice[] }
  | { readonly available: false; readonly reason: string };

/**
 * Lists RDMA devices without throwing. A missing libibverbs, a NULL list (ENOSYS when the
 * kernel has no RDMA support, as on this build machine) and an empty list all give
 * `available: false` with a reason a person can act on.
 */
export function listRdmaDevices(): RdmaAvailability {
  let verbs: ReturnType<typeof loadIbverbs>;
  try {
    verbs = loadIbverbs();
  } catch (error) {
    if (error instanceof LibraryLoadError) {
      return {
        available: false,
        reason: `libibverbs is not installed (Debian: apt-get install libibverbs1 ` +
          `ibverbs-providers): ${error.message}`,
      };
    }
    throw error;
  }
  const count = new Int32Array(1);
  const { result: list, errno } = withErrno(() =>
    verbs.ibv_get_device_list(new Uint8Array(count.buffer))
  );
  if (list === null) {
    return {
      available: false,
      reason: `no RDMA devices: ibv_get_device_list returned NULL: ${errnoText(errno)} ` +
        `(errno ${errno}); the kernel has no RDMA support or no RDMA driver is loaded`,
    };
  }
  try {
    const devices: RdmaDevice[] = [];
    for (let i = 0; i < (count[0] ?? 0); i++) {
      const device = readPointer(list, i * 8);
      if (device === null) break;
      devices.push(describeDevice(device));
    }
    if (devices.length === 0) {
      return {
        available: false,
        reason: "no RDMA devices: ibv_get_device_list returned an empty list " +
          "(check `ibv_devices`, the NIC driver and /dev/infiniband)",
      };
    }
    return { available: true, devices };
  } finally {
    verbs.ibv_free_device_list(list);
  }
}

function describeDevice(device: Deno.PointerObject): RdmaDevice {
  const verbs = loadIbverbs();
  const namePointer = verbs.ibv_get_device_name(device);
  const name = namePointer === null ? "?" : Deno.UnsafePointerView.getCString(namePointer);
  const context = brandPointer<"ibv_context">(verbs.ibv_open_device(device));
  if (context === null) return { name };
  try {
    return { name, limits: queryDevice(context) };
  } catch (error) {
    if (error instanceof RdmaError) return { name };
    throw error;
  } finally {
    verbs.ibv_close_device(context);
  }
}

/** An opened device (`ibv_open_device`), for callers that do not get one from RDMA CM. */
export class DeviceContext implements Disposable {
  readonly #verbs = loadIbverbs();
  #context: IbvContextPtr | null;
  /** The device name, e.g. "mlx5_0". */
  readonly name: string;

  private constructor(context: IbvContextPtr, name: string) {
    this.#context = context;
    this.name = name;
  }

  /** Opens the device called `name`, or the first device. Throws when there is none. */
  static open(name?: string): DeviceContext {
    const verbs = loadIbverbs();
    const count = new Int32Array(1);
    const { result: list, errno } = withErrno(() =>
      verbs.ibv_get_device_list(new Uint8Array(count.buffer))
    );
    if (list === null) throw new RdmaError("ibv_get_device_list", errno);
    try {
      const names: string[] = [];
      for (let i = 0; i < (count[0] ?? 0); i++) {
        const device = readPointer(list, i * 8);
        if (device === null) break;
        const namePointer = verbs.ibv_get_device_name(device);
        const deviceName = namePointer === null
          ? "?"
          : Deno.UnsafePointerView.getCString(namePointer);
        names.push(deviceName);
        if (name !== undefined && deviceName !== name) continue;
        const opened = withErrno(() => verbs.ibv_open_device(device));
        const context = brandPointer<"ibv_context">(opened.result);
        if (context === null) throw new RdmaError("ibv_open_device", opened.errno, deviceName);
        return new DeviceContext(context, deviceName);
      }
      throw new RangeError(
        name === undefined
          ? "no RDMA devices"
          : `no RDMA device "${name}" (found: ${names.join(", ") || "none"})`,
      );
    } finally {
      verbs.ibv_free_device_list(list);
    }
  }

  /** The raw `struct ibv_context *`; throws after close. */
  get pointer(): IbvContextPtr {
    if (this.#context === null) throw new Error("DeviceContext is closed");
    return this.#context;
  }

  /** Closes the device (after everything created on it). Idempotent. */
  close(): void {
    if (this.#context === null) return;
    const context = this.#context;
    this.#context = null;
    const { result, errno } = withErrno(() => this.#verbs.ibv_close_device(context));
    if (result !== 0) throw new RdmaError("ibv_close_device", errno || result);
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** A protection domain (`ibv_alloc_pd`). */
export class ProtectionDomain implements Disposable {
  readonly #verbs = loadIbverbs();
  #pd: IbvPdPtr | null;
  constructor(context: IbvContextPtr) {
    const { result, errno } = withErrno(() => this.#verbs.ibv_alloc_pd(context));
    const pd = brandPointer<"ibv_pd">(result);
    if (pd === null) throw new RdmaError("ibv_alloc_pd", errno);
    this.#pd = pd;
  }
  /** The raw `struct ibv_pd *`; throws after close. */
  get pointer(): IbvPdPtr {
    if (this.#pd === null) throw new Error("ProtectionDomain is closed");
    return this.#pd;
  }
  /** Deallocates the PD (after every MR and QP in it is gone). Idempotent. */
  close(): void {
    if (this.#pd === null) return;
    const pd = this.#pd;
    this.#pd = null;
    const { result, errno } = withErrno(() => this.#verbs.ibv_dealloc_pd(pd));
    if (result !== 0) throw new RdmaError("ibv_dealloc_pd", errno === 0 ? result : errno);
  }
  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Access flags of a memory registration. */
export interface MemoryAccess {
  readonly localWrite?: boolean;
  readonly remoteRead?: boolean;
  readonly remoteWrite?: boolean;
}

/** A registered memory region (`ibv_reg_mr`); keep the memory alive until close. */
export class MemoryRegion implements Disposable {
  readonly #verbs = loadIbverbs();
  #mr: IbvMrPtr | null;
  /** Local key, for scatter/gather entries. */
  readonly lkey: number;
  /** Remote key, for peers' RDMA READ/WRITE. */
  readonly rkey: number;
  /** Start address of the region. */
  readonly address: bigint;
  /** Length in bytes. */
  readonly lengthBytes: number;

  constructor(
    pd: ProtectionDomain,
    memory: { pointer: Deno.PointerObject; lengthBytes: number },
    access: MemoryAccess,
  ) {
    const flags = (access.localWrite ? 1 : 0) | (access.remoteWrite ? 2 : 0) |
      (access.remoteRead ? 4 : 0);
    const { result, errno } = withErrno(() =>
      this.#verbs.ibv_reg_mr(pd.pointer, memory.pointer, BigInt(memory.lengthBytes), flags)
    );
    const mr = brandPointer<"ibv_mr">(result);
    if (mr === null) {
      throw new RdmaError(
        "ibv_reg_mr",
        errno,
        `${memory.lengthBytes} bytes (check \`ulimit -l\`: registered memory is pinned)`,
      );
    }
    this.#mr = mr;
    const view = new Deno.UnsafePointerView(mr);
    const f = LAYOUTS.ibv_mr.fields;
    this.lkey = view.getUint32(f.lkey);
    this.rkey = view.getUint32(f.rkey);
    this.address = BigInt(Deno.UnsafePointer.value(memory.pointer));
    this.lengthBytes = memory.lengthBytes;
  }

  /** True until {@link close}. */
  get open(): boolean {
    return this.#mr !== null;
  }

  /** Deregisters the region. Idempotent. */
  close(): void {
    if (this.#mr === null) return;
    const mr = this.#mr;
    this.#mr = null;
    const { result, errno } = withErrno(() => this.#verbs.ibv_dereg_mr(mr));
    if (result !== 0) throw new RdmaError("ibv_dereg_mr", errno === 0 ? result : errno);
  }
  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** A completion event channel (`ibv_create_comp_channel`). */
export class CompletionChannel implements Disposable {
  readonly #verbs = loadIbverbs();
  #channel: IbvCompChannelPtr | null;
  /** The channel's file descriptor (readable when a CQ event is pending). */
  readonly fd: number;

  constructor(context: IbvContextPtr) {
    const { result, errno } = withErrno(() => this.#verbs.ibv_create_comp_channel(context));
    const channel = brandPointer<"ibv_comp_channel">(result);
    if (channel === null) throw new RdmaError("ibv_create_comp_channel", errno);
    this.#channel = channel;
    this.fd = new Deno.UnsafePointerView(channel).getInt32(LAYOUTS.ibv_comp_channel.fields.fd);
  }

  /** The raw `struct ibv_comp_channel *`; throws after close. */
  get pointer(): IbvCompChannelPtr {
    if (this.#channel === null) throw new Error("CompletionChannel is closed");
    return this.#channel;
  }

  /** Takes one CQ event (call when {@link fd} is readable) and returns its CQ pointer. */
  getEvent(): Deno.PointerValue {
    const cq = new BigUint64Array(1);
    const context = new BigUint64Array(1);
    const { result, errno } = withErrno(() =>
      this.#verbs.ibv_get_cq_event(
        this.pointer,
        new Uint8Array(cq.buffer),
        new Uint8Array(context.buffer),
      )
    );
    if (result !== 0) throw new RdmaError("ibv_get_cq_event", errno);
    return Deno.UnsafePointer.create(cq[0] ?? 0n);
  }

  /** Destroys the channel (after its CQs). Idempotent. */
  close(): void {
    if (this.#channel === null) return;
    const channel = this.#channel;
    this.#channel = null;
    const { result, errno } = withErrno(() => this.#verbs.ibv_destroy_comp_channel(channel));
    if (result !== 0) throw new RdmaError("ibv_destroy_comp_channel", errno || result);
  }
  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** A completion queue (`ibv_create_cq`). Polling goes through `verbs_ops.ts`. */
export class CompletionQueue implements Disposable {
  readonly #verbs = loadIbverbs();
  #cq: IbvCqPtr | null;
  #unackedEvents = 0;
  /** Number of entries the CQ holds. */
  readonly entries: number;

  constructor(
    context: IbvContextPtr,
    options: { entries: number; channel?: CompletionChannel },
  ) {
    const channel = options.channel?.pointer ?? null;
    const { result, errno } = withErrno(() =>
      this.#verbs.ibv_create_cq(context, options.entries, null, channel, 0)
    );
    const cq = brandPointer<"ibv_cq">(result);
    if (cq === null) throw new RdmaError("ibv_create_cq", errno, `${options.entries} entries`);
    this.#cq = cq;
    this.entries = new Deno.UnsafePointerView(cq).getInt32(LAYOUTS.ibv_cq.fields.cqe);
  }

  /** The raw `struct ibv_cq *`; throws after close. */
  get pointer(): IbvCqPtr {
    if (this.#cq === null) throw new Error("CompletionQueue is closed");
    return this.#cq;
  }

  /** Counts one CQ event taken from the channel; acked in batches and at close. */
  noteEvent(): void {
    this.#unackedEvents++;
    if (this.#unackedEvents >= 64) this.#ackEvents();
  }

  #ackEvents(): void {
    if (this.#unackedEvents === 0 || this.#cq === null) return;
    this.#verbs.ibv_ack_cq_events(this.#cq, this.#unackedEvents);
    this.#unackedEvents = 0;
  }

  /** Acks pending events and destroys the CQ (after its QPs). Idempotent. */
  close(): void {
    if (this.#cq === null) return;
    this.#ackEvents();
    const cq = this.#cq;
    this.#cq = null;
    const { result, errno } = withErrno(() => this.#verbs.ibv_destroy_cq(cq));
    if (result !== 0) throw new RdmaError("ibv_destroy_cq", errno || result);
  }
  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** The text of a work completion status (`ibv_wc_status_str`). */
export function wcStatusText(status: number): string {
  const text = loadIbverbs().ibv_wc_status_str(status);
  return text === null ? `status ${status}` : Deno.UnsafePointerView.getCString(text);
}
