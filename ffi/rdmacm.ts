/**
 * Safe wrappers over librdmacm: the event channel (waited on in Deno's blocking pool through
 * poll(2), then read with a synchronous rdma_get_cm_event so errno is ours), CM ids and the
 * queue pairs created on them. Handles live in `#private` fields; `close()` is idempotent.
 * @module
 */
import {
  brandPointer,
  type IbvContextPtr,
  type IbvCqPtr,
  type IbvQpPtr,
  type ProtectionDomain,
  type Ptr,
  RdmaError,
  readPointer,
} from "./ibverbs.ts";
import { type IpAddress, parseIpAddress } from "../common/ip_address.ts";
import { openLibrary } from "./library.ts";
import { errnoText, FdWaiter, withErrno } from "./rdma_libc.ts";
import { RDMACM_PATHS, RDMACM_SYMBOLS } from "./rdmacm_symbols.ts";
import { CONSTANTS, LAYOUTS } from "./verbs_structs.ts";

/** `sizeof(struct sockaddr_storage)`: room for any address in `struct rdma_addr`. */
const SOCKADDR_STORAGE_BYTES = 128;

/** `struct rdma_event_channel *`. */
export type RdmaEventChannelPtr = Ptr<"rdma_event_channel">;
/** `struct rdma_cm_id *`. */
export type RdmaCmIdPtr = Ptr<"rdma_cm_id">;

let rdmacm: { path: string; library: Deno.DynamicLibrary<typeof RDMACM_SYMBOLS> } | undefined;

/**
 * librdmacm, loaded once; SPIRIT_LIBRDMACM names another file (e.g. the test double). A changed
 * SPIRIT_LIBRDMACM loads that file instead (see `loadIbverbs`).
 */
export function loadRdmacm(): Deno.DynamicLibrary<typeof RDMACM_SYMBOLS>["symbols"] {
  const path = Deno.env.get("SPIRIT_LIBRDMACM") ?? "";
  if (rdmacm === undefined || rdmacm.path !== path) {
    rdmacm = {
      path,
      library: openLibrary("librdmacm", RDMACM_PATHS, RDMACM_SYMBOLS, {
        envOverride: "SPIRIT_LIBRDMACM",
      }),
    };
  }
  return rdmacm.library.symbols;
}

function check(call: string, run: () => number, detail = ""): void {
  const { result, errno } = withErrno(run);
  if (result !== 0) throw new RdmaError(call, errno, detail);
}

/** Encodes an IP literal and port as `struct sockaddr_in` / `sockaddr_in6` bytes. */
export function socketAddress(host: string, port: number): Uint8Array {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer in 0..65535, got ${port}`);
  }
  const literal = host === "localhost" ? "127.0.0.1" : host;
  const address = parseIpAddress(literal);
  if (address === undefined) {
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(literal)) {
      throw new RangeError(`invalid IPv4 address "${host}"`);
    }
    throw new RangeError(
      `RDMA addresses must be IPv4 or IPv6 literals (the address of the RDMA interface), ` +
        `got "${host}"`,
    );
  }
  if (address.family === 4) {
    const layout = LAYOUTS.sockaddr_in;
    const bytes = new Uint8Array(layout.size);
    const view = new DataView(bytes.buffer);
    view.setUint16(layout.fields.sin_family, CONSTANTS.AF_INET, true);
    view.setUint16(layout.fields.sin_port, port, false);
    bytes.set(address.bytes, layout.fields.sin_addr);
    return bytes;
  }
  const layout = LAYOUTS.sockaddr_in6;
  const bytes = new Uint8Array(layout.size);
  const view = new DataView(bytes.buffer);
  view.setUint16(layout.fields.sin6_family, CONSTANTS.AF_INET6, true);
  view.setUint16(layout.fields.sin6_port, port, false);
  bytes.set(address.bytes, layout.fields.sin6_addr);
  return bytes;
}

/**
 * Decodes `struct sockaddr_in` / `sockaddr_in6` bytes (the inverse of {@link socketAddress});
 * null for another family (e.g. AF_IB) or an unset address (family 0).
 */
export function decodeSocketAddress(bytes: Uint8Array): IpAddress | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const family = view.getUint16(0, true);
  if (family === CONSTANTS.AF_INET && bytes.length >= LAYOUTS.sockaddr_in.size) {
    const at = LAYOUTS.sockaddr_in.fields.sin_addr;
    return { family: 4, bytes: bytes.slice(at, at + 4) };
  }
  if (family === CONSTANTS.AF_INET6 && bytes.length >= LAYOUTS.sockaddr_in6.size) {
    const at = LAYOUTS.sockaddr_in6.fields.sin6_addr;
    return { family: 6, bytes: bytes.slice(at, at + 16) };
  }
  return null;
}

/** One CM event, copied out of the library's struct (which is acked at once). */
export interface CmEvent {
  readonly type: number;
  /** e.g. "RDMA_CM_EVENT_ESTABLISHED". */
  readonly typeName: string;
  readonly status: number;
  readonly id: RdmaCmIdPtr;
  readonly listenId: RdmaCmIdPtr | null;
  readonly privateData: Uint8Array;
  readonly responderResources: number;
  readonly initiatorDepth: number;
}

/** The name of a CM event type (`rdma_event_str`). */
export function cmEventName(type: number): string {
  const text = loadRdmacm().rdma_event_str(type);
  return text === null ? `event ${type}` : Deno.UnsafePointerView.getCString(text);
}

/** An RDMA CM event channel. Wait for events with {@link next}. */
export class EventChannel implements AsyncDisposable {
  readonly #cm = loadRdmacm();
  #channel: RdmaEventChannelPtr | null;
  #waiter: FdWaiter;
  #interrupted = false;
  /** The channel's file descriptor. */
  readonly fd: number;

  constructor() {
    const { result, errno } = withErrno(() => this.#cm.rdma_create_event_channel());
    const channel = brandPointer<"rdma_event_channel">(result);
    if (channel === null) throw new RdmaError("rdma_create_event_channel", errno);
    this.#channel = channel;
    this.fd = new Deno.UnsafePointerView(channel).getInt32(LAYOUTS.rdma_event_channel.fields.fd);
    this.#waiter = new FdWaiter();
  }

  /** The raw `struct rdma_event_channel *`; throws after close. */
  get pointer(): RdmaEventChannelPtr {
    if (this.#channel === null) throw new Error("EventChannel is closed");
    return this.#channel;
  }

  /** The next event, or null once the channel is interrupted or closing. */
  async next(): Promise<CmEvent | null> {
    for (;;) {
      if (this.#channel === null || this.#interrupted) return null;
      const readable = await this.#waiter.wait(this.fd);
      if (!readable || this.#channel === null || this.#interrupted) return null;
      const channel = this.#channel;
      const slot = new BigUint64Array(1);
      const { result, errno } = withErrno(() =>
        this.#cm.rdma_get_cm_event(channel, new Uint8Array(slot.buffer))
      );
      if (result !== 0) {
        if (errno === CONSTANTS.EAGAIN || errno === 4 /* EINTR */) continue;
        throw new RdmaError("rdma_get_cm_event", errno);
      }
      const event = Deno.UnsafePointer.create(slot[0] ?? 0n);
      if (event === null) throw new Error("rdma_get_cm_event returned a NULL event");
      try {
        return readEvent(event);
      } finally {
        this.#cm.rdma_ack_cm_event(event);
      }
    }
  }

  /**
   * Makes the pending and every later {@link next} return null, without destroying anything
   * (ids on the channel must be destroyed before the channel).
   */
  interrupt(): void {
    this.#interrupted = true;
    this.#waiter.wake();
  }

  /**
   * Ends any pending {@link next} (it returns null) and destroys the channel; synchronous when
   * no wait is pending. Destroy the ids on the channel first. Idempotent.
   */
  close(): Promise<void> {
    if (this.#channel === null) return Promise.resolve();
    const channel = this.#channel;
    this.#channel = null;
    const cm = this.#cm;
    const destroy = () => cm.rdma_destroy_event_channel(channel);
    const waiting = this.#waiter.waiting;
    const waited = this.#waiter.close();
    if (waiting) return waited.then(destroy);
    destroy();
    return waited;
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function readEvent(event: Deno.PointerObject): CmEvent {
  const view = new Deno.UnsafePointerView(event);
  const f = LAYOUTS.rdma_cm_event.fields;
  const type = view.getInt32(f.event);
  const id = brandPointer<"rdma_cm_id">(view.getPointer(f.id));
  if (id === null) throw new Error(`CM event ${type} has a NULL id`);
  const length = view.getUint8(f["param.conn.private_data_len"]);
  const data = view.getPointer(f["param.conn.private_data"]);
  const privateData = data === null || length === 0 ? new Uint8Array(0) : new Uint8Array(
    Deno.UnsafePointerView.getArrayBuffer(data, length).slice(0),
  );
  return {
    type,
    typeName: cmEventName(type),
    status: view.getInt32(f.status),
    id,
    listenId: brandPointer<"rdma_cm_id">(view.getPointer(f.listen_id)),
    privateData,
    responderResources: view.getUint8(f["param.conn.responder_resources"]),
    initiatorDepth: view.getUint8(f["param.conn.initiator_depth"]),
  };
}

/** Connection parameters for rdma_connect / rdma_accept. */
export interface ConnParams {
  readonly privateData: Uint8Array;
  readonly responderResources: number;
  readonly initiatorDepth: number;
  readonly retryCount?: number;
  readonly rnrRetryCount?: number;
}

/** `struct rdma_conn_param` followed by its private data, in one buffer (one lifetime). */
function connParam(params: ConnParams): Uint8Array {
  if (params.privateData.length > 255) {
    throw new RangeError(`CM private data is at most 255 bytes, got ${params.privateData.length}`);
  }
  const layout = LAYOUTS.rdma_conn_param;
  // Off the V8 heap: the struct holds a pointer into this same buffer.
  const bytes = new Uint8Array(new ArrayBuffer(layout.size + params.privateData.length));
  bytes.set(params.privateData, layout.size);
  const view = new DataView(bytes.buffer);
  const base = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
  const pointer = params.privateData.length === 0 ? 0n : base + BigInt(layout.size);
  view.setBigUint64(layout.fields.private_data, pointer, true);
  view.setUint8(layout.fields.private_data_len, params.privateData.length);
  view.setUint8(layout.fields.responder_resources, params.responderResources);
  view.setUint8(layout.fields.initiator_depth, params.initiatorDepth);
  view.setUint8(layout.fields.retry_count, params.retryCount ?? 7);
  view.setUint8(layout.fields.rnr_retry_count, params.rnrRetryCount ?? 7);
  return bytes;
}

/** Capacities of a new RC queue pair. */
export interface QueuePairOptions {
  readonly sendCq: IbvCqPtr;
  readonly recvCq: IbvCqPtr;
  readonly maxSendWr: number;
  readonly maxRecvWr: number;
  readonly maxSendSge?: number;
  readonly maxRecvSge?: number;
}

/** An RC queue pair created on a CM id (`rdma_create_qp`); closed with its id. */
export class QueuePair {
  #id: CmId;
  #qp: IbvQpPtr | null;
  /** The QP number. */
  readonly qpNum: number;

  /** @internal Use {@link CmId.createQp}. */
  constructor(id: CmId, qp: IbvQpPtr) {
    this.#id = id;
    this.#qp = qp;
    this.qpNum = new Deno.UnsafePointerView(qp).getUint32(LAYOUTS.ibv_qp.fields.qp_num);
  }

  /** The raw `struct ibv_qp *`; throws after close. */
  get pointer(): IbvQpPtr {
    if (this.#qp === null) throw new Error("QueuePair is closed");
    return this.#qp;
  }

  /** Destroys the QP (`rdma_destroy_qp`). Idempotent. */
  close(): void {
    if (this.#qp === null) return;
    this.#qp = null;
    this.#id.releaseQp();
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** An RDMA CM id (`rdma_create_id`, or a new connection's id from CONNECT_REQUEST). */
export class CmId implements Disposable {
  readonly #cm = loadRdmacm();
  #id: RdmaCmIdPtr | null;
  #qp: QueuePair | undefined;

  private constructor(id: RdmaCmIdPtr) {
    this.#id = id;
  }

  /** Creates an id on `channel` for the reliable-connected (TCP) port space. */
  static create(channel: EventChannel): CmId {
    const slot = new BigUint64Array(1);
    check(
      "rdma_create_id",
      () =>
        loadRdmacm().rdma_create_id(
          channel.pointer,
          new Uint8Array(slot.buffer),
          null,
          CONSTANTS.RDMA_PS_TCP,
        ),
    );
    const id = brandPointer<"rdma_cm_id">(Deno.UnsafePointer.create(slot[0] ?? 0n));
    if (id === null) throw new Error("rdma_create_id returned a NULL id");
    return new CmId(id);
  }

  /** Takes ownership of the id a CONNECT_REQUEST event created. */
  static adopt(id: RdmaCmIdPtr): CmId {
    return new CmId(id);
  }

  /** The raw `struct rdma_cm_id *`; throws after close. */
  get pointer(): RdmaCmIdPtr {
    if (this.#id === null) throw new Error("CmId is closed");
    return this.#id;
  }

  /** True when `pointer` is this id's handle. */
  is(pointer: Deno.PointerValue): boolean {
    return this.#id !== null && Deno.UnsafePointer.equals(this.#id, pointer);
  }

  /** `id->verbs`: the device context once the id is bound to a device, else null. */
  get verbs(): IbvContextPtr | null {
    return brandPointer<"ibv_context">(
      readPointer(this.pointer, LAYOUTS.rdma_cm_id.fields.verbs),
    );
  }

  /** Binds to a local IP literal and port (0 picks a free port). */
  bind(host: string, port: number): void {
    const address = socketAddress(host, port);
    check(
      "rdma_bind_addr",
      () => this.#cm.rdma_bind_addr(this.pointer, address),
      `address ${host} port ${port}`,
    );
  }

  /** Starts listening for connection requests. */
  listen(backlog: number): void {
    check("rdma_listen", () => this.#cm.rdma_listen(this.pointer, backlog));
  }

  /** The bound local port. */
  get sourcePort(): number {
    const networkOrder = this.#cm.rdma_get_src_port(this.pointer);
    return ((networkOrder & 0xff) << 8) | (networkOrder >> 8);
  }

  /**
   * Starts address resolution; completes with ADDR_RESOLVED or ADDR_ERROR. `sourceAddress` (an
   * IP literal of a local RDMA interface) picks the local device; default: the route's.
   */
  resolveAddress(
    host: string,
    port: number,
    options: { timeoutMs: number; sourceAddress?: string },
  ): void {
    const address = socketAddress(host, port);
    const source = options.sourceAddress === undefined
      ? null
      : socketAddress(options.sourceAddress, 0);
    check(
      "rdma_resolve_addr",
      () => this.#cm.rdma_resolve_addr(this.pointer, source, address, options.timeoutMs),
      `destination ${host} port ${port}` +
        (options.sourceAddress === undefined ? "" : ` from ${options.sourceAddress}`),
    );
  }

  /**
   * The peer's IP address (`rdma_get_peer_addr`: `id->route.addr.dst_addr`); on the passive
   * side, the client of a connection request. Null when the id has no IP peer (AF_IB).
   */
  get peerAddress(): IpAddress | null {
    const at = LAYOUTS.rdma_cm_id.fields["route.addr.dst_addr"];
    const bytes = new Uint8Array(
      Deno.UnsafePointerView.getArrayBuffer(this.pointer, SOCKADDR_STORAGE_BYTES, at).slice(0),
    );
    return decodeSocketAddress(bytes);
  }

  /** Starts route resolution; completes with ROUTE_RESOLVED or ROUTE_ERROR. */
  resolveRoute(options: { timeoutMs: number }): void {
    check(
      "rdma_resolve_route",
      () => this.#cm.rdma_resolve_route(this.pointer, options.timeoutMs),
    );
  }

  /** Creates the id's RC queue pair. */
  createQp(pd: ProtectionDomain, options: QueuePairOptions): QueuePair {
    if (this.#qp !== undefined) throw new Error("this CM id already has a queue pair");
    const layout = LAYOUTS.ibv_qp_init_attr;
    const attr = new Uint8Array(layout.size);
    const view = new DataView(attr.buffer);
    const f = layout.fields;
    const pointerBits = (p: Deno.PointerValue) => BigInt(Deno.UnsafePointer.value(p));
    view.setBigUint64(f.send_cq, pointerBits(options.sendCq), true);
    view.setBigUint64(f.recv_cq, pointerBits(options.recvCq), true);
    view.setUint32(f["cap.max_send_wr"], options.maxSendWr, true);
    view.setUint32(f["cap.max_recv_wr"], options.maxRecvWr, true);
    view.setUint32(f["cap.max_send_sge"], options.maxSendSge ?? 1, true);
    view.setUint32(f["cap.max_recv_sge"], options.maxRecvSge ?? 1, true);
    view.setUint32(f.qp_type, CONSTANTS.IBV_QPT_RC, true);
    view.setInt32(f.sq_sig_all, 0, true);
    check(
      "rdma_create_qp",
      () => this.#cm.rdma_create_qp(this.pointer, pd.pointer, attr),
      `max_send_wr ${options.maxSendWr}, max_recv_wr ${options.maxRecvWr}`,
    );
    const qp = brandPointer<"ibv_qp">(readPointer(this.pointer, LAYOUTS.rdma_cm_id.fields.qp));
    if (qp === null) throw new Error("rdma_create_qp succeeded but id->qp is NULL");
    this.#qp = new QueuePair(this, qp);
    return this.#qp;
  }

  /** @internal Called by QueuePair.close. */
  releaseQp(): void {
    if (this.#qp === undefined || this.#id === null) return;
    this.#qp = undefined;
    this.#cm.rdma_destroy_qp(this.#id);
  }

  /** Sends a connection request (active side). */
  connect(params: ConnParams): void {
    const bytes = connParam(params);
    check("rdma_connect", () => this.#cm.rdma_connect(this.pointer, bytes));
  }

  /** Accepts a connection request (passive side). */
  accept(params: ConnParams): void {
    const bytes = connParam(params);
    check("rdma_accept", () => this.#cm.rdma_accept(this.pointer, bytes));
  }

  /** Rejects a connection request, with private data for the client (at most 148 bytes on IB). */
  reject(privateData?: Uint8Array): void {
    const data = privateData === undefined || privateData.length === 0 ? null : privateData;
    if (data !== null && data.length > 255) {
      throw new RangeError(`CM private data is at most 255 bytes, got ${data.length}`);
    }
    check("rdma_reject", () => this.#cm.rdma_reject(this.pointer, data, data?.length ?? 0));
  }

  /** Disconnects; both sides then get RDMA_CM_EVENT_DISCONNECTED. Errors are returned. */
  disconnect(): RdmaError | undefined {
    if (this.#id === null) return undefined;
    const id = this.#id;
    const { result, errno } = withErrno(() => this.#cm.rdma_disconnect(id));
    return result === 0 ? undefined : new RdmaError("rdma_disconnect", errno);
  }

  /** Destroys the QP (if any) and the id. Idempotent. */
  close(): void {
    if (this.#id === null) return;
    this.#qp?.close();
    const id = this.#id;
    this.#id = null;
    const { result, errno } = withErrno(() => this.#cm.rdma_destroy_id(id));
    if (result !== 0) throw new RdmaError("rdma_destroy_id", errno);
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** A readable description of errno values in CM event statuses (negative errno or reason). */
export function cmStatusText(status: number): string {
  return status < 0 ? `${errnoText(-status)} (${status})` : `status ${status}`;
}
