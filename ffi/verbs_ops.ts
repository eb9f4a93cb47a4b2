/**
 * The inline verbs (ibv_post_send, ibv_post_recv, ibv_poll_cq, ibv_req_notify_cq) are `static
 * inline` in <infiniband/verbs.h>: they call through `context->ops`. This module reads those
 * function pointers and calls them on prepared work-request arrays.
 *
 * Call path, chosen by measurement (`deno task spirit bench ffi`): libffi's `ffi_call` (a
 * dlopen'ed fast call, ~50 ns per call here) rather than `Deno.UnsafeFnPointer.call`
 * (~1.2 us per call). SPIRIT_FFI_CALL_PATH=fnpointer forces the other path; without libffi it
 * is used automatically.
 * @module
 */
import { bindFnPointerCall, bindLibffiCall, type BoundArg, type BoundCall } from "./libffi.ts";
import { loadLibffi } from "./libffi.ts";
import {
  type CompletionQueue,
  type IbvContextPtr,
  type IbvQpPtr,
  type MemoryRegion,
  RdmaError,
  readPointer,
} from "./ibverbs.ts";
import { LibraryLoadError } from "./library.ts";
import { CONSTANTS, LAYOUTS } from "./verbs_structs.ts";

/** How a C function pointer is called. */
export type CallPath = "libffi" | "fnpointer";

/** The four ops-table entries spirit calls. */
export type InlineVerb = "post_send" | "post_recv" | "poll_cq" | "req_notify_cq";

/** The call path to use: SPIRIT_FFI_CALL_PATH, else libffi when it loads, else fnpointer. */
export function defaultCallPath(): CallPath {
  const forced = Deno.env.get("SPIRIT_FFI_CALL_PATH");
  if (forced === "libffi" || forced === "fnpointer") return forced;
  if (forced !== undefined && forced !== "") {
    throw new RangeError(
      `SPIRIT_FFI_CALL_PATH must be "libffi" or "fnpointer", got "${forced}"`,
    );
  }
  try {
    loadLibffi();
    return "libffi";
  } catch (error) {
    if (error instanceof LibraryLoadError) return "fnpointer";
    throw error;
  }
}

/** Binds `int fn(args...)` on the given path. */
export function bindCall(
  fn: Deno.PointerObject,
  args: readonly BoundArg[],
  path: CallPath,
): BoundCall {
  return path === "libffi" ? bindLibffiCall(fn, args) : bindFnPointerCall(fn, args);
}

/** Reads an inline verb's function pointer from `context->ops`. */
export function opsFunction(context: IbvContextPtr, verb: InlineVerb): Deno.PointerObject {
  const fn = readPointer(context, LAYOUTS.ibv_context.fields[`ops.${verb}`]);
  if (fn === null) throw new Error(`ibv_context ops.${verb} is NULL (provider without ${verb})`);
  return fn;
}

/** One one-sided operation: `lengthBytes` at `localOffset` of the local MR <-> remote address. */
export interface RdmaOp {
  readonly kind: "read" | "write";
  readonly localOffset: number;
  readonly lengthBytes: number;
  readonly remoteAddress: bigint;
}

/** One work completion. */
export interface Completion {
  readonly wrId: bigint;
  readonly status: number;
  readonly opcode: number;
  readonly byteLen: number;
}

const pointerArg = (value: Deno.PointerValue): BoundArg => ({ type: "pointer", value });
const i32Arg = (value: number): BoundArg => ({ type: "i32", value });

/**
 * Posting and polling for one RC queue pair: `depth` prepared, chained `ibv_send_wr`s with one
 * SGE each (all signaled), a `depth`-entry `ibv_wc` array, and bound ops-table calls.
 */
export class SendQueue {
  readonly depth: number;
  readonly callPath: CallPath;
  #wrs: Uint8Array;
  #wrView: DataView;
  #sges: Uint8Array;
  #sgeView: DataView;
  #wcs: Uint8Array;
  #wcView: DataView;
  #badWr = new BigUint64Array(new ArrayBuffer(8)); // off the V8 heap: C keeps its address
  #wrBase: bigint;
  #local: MemoryRegion;
  #rkey: number;
  #postSend: BoundCall;
  #pollCq: BoundCall;
  #reqNotify: BoundCall;

  constructor(
    options: {
      context: IbvContextPtr;
      qp: IbvQpPtr;
      cq: CompletionQueue;
      depth: number;
      local: MemoryRegion;
      rkey: number;
      path?: CallPath;
    },
  ) {
    const { context, qp, cq, depth, local, rkey } = options;
    this.depth = depth;
    this.callPath = options.path ?? defaultCallPath();
    this.#local = local;
    this.#rkey = rkey;
    const wr = LAYOUTS.ibv_send_wr;
    const sge = LAYOUTS.ibv_sge;
    this.#wrs = new Uint8Array(new ArrayBuffer(depth * wr.size));
    this.#wrView = new DataView(this.#wrs.buffer);
    this.#sges = new Uint8Array(new ArrayBuffer(depth * sge.size));
    this.#sgeView = new DataView(this.#sges.buffer);
    this.#wcs = new Uint8Array(new ArrayBuffer(depth * LAYOUTS.ibv_wc.size));
    this.#wcView = new DataView(this.#wcs.buffer);
    this.#wrBase = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#wrs)));
    const sgeBase = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#sges)));
    for (let i = 0; i < depth; i++) {
      const at = i * wr.size;
      this.#wrView.setBigUint64(at + wr.fields.sg_list, sgeBase + BigInt(i * sge.size), true);
      this.#wrView.setInt32(at + wr.fields.num_sge, 1, true);
      this.#wrView.setUint32(at + wr.fields.send_flags, CONSTANTS.IBV_SEND_SIGNALED, true);
      this.#wrView.setUint32(at + wr.fields["wr.rdma.rkey"], rkey, true);
      this.#setNext(i, i + 1 < depth);
      this.#sgeView.setUint32(i * sge.size + sge.fields.lkey, local.lkey, true);
    }
    const path = this.callPath;
    this.#postSend = bindCall(
      opsFunction(context, "post_send"),
      [
        pointerArg(qp),
        pointerArg(Deno.UnsafePointer.of(this.#wrs)),
        pointerArg(Deno.UnsafePointer.of(this.#badWr)),
      ],
      path,
    );
    this.#pollCq = bindCall(
      opsFunction(context, "poll_cq"),
      [pointerArg(cq.pointer), i32Arg(depth), pointerArg(Deno.UnsafePointer.of(this.#wcs))],
      path,
    );
    this.#reqNotify = bindCall(
      opsFunction(context, "req_notify_cq"),
      [pointerArg(cq.pointer), i32Arg(0)],
      path,
    );
  }

  #setNext(i: number, chained: boolean): void {
    const wr = LAYOUTS.ibv_send_wr;
    const next = chained ? this.#wrBase + BigInt((i + 1) * wr.size) : 0n;
    this.#wrView.setBigUint64(i * wr.size + wr.fields.next, next, true);
  }

  /**
   * Posts up to {@link depth} operations as one chained `ibv_post_send`; wr_id of op i is
   * `firstWrId + i`. Throws RdmaError when the provider refuses the list.
   */
  post(ops: readonly RdmaOp[], firstWrId: bigint): void {
    if (ops.length === 0) return;
    if (ops.length > this.depth) {
      throw new RangeError(`cannot post ${ops.length} work requests on a depth-${this.depth} QP`);
    }
    const wr = LAYOUTS.ibv_send_wr;
    const sge = LAYOUTS.ibv_sge;
    ops.forEach((op, i) => {
      if (op.localOffset < 0 || op.localOffset + op.lengthBytes > this.#local.lengthBytes) {
        throw new RangeError(
          `local range ${op.localOffset}+${op.lengthBytes} is outside the registered buffer`,
        );
      }
      const at = i * wr.size;
      this.#wrView.setBigUint64(at + wr.fields.wr_id, firstWrId + BigInt(i), true);
      this.#wrView.setUint32(
        at + wr.fields.opcode,
        op.kind === "read" ? CONSTANTS.IBV_WR_RDMA_READ : CONSTANTS.IBV_WR_RDMA_WRITE,
        true,
      );
      this.#wrView.setBigUint64(at + wr.fields["wr.rdma.remote_addr"], op.remoteAddress, true);
      this.#wrView.setUint32(at + wr.fields["wr.rdma.rkey"], this.#rkey, true);
      const s = i * sge.size;
      this.#sgeView.setBigUint64(
        s + sge.fields.addr,
        this.#local.address + BigInt(op.localOffset),
        true,
      );
      this.#sgeView.setUint32(s + sge.fields.length, op.lengthBytes, true);
    });
    const last = ops.length - 1;
    this.#setNext(last, false);
    const status = this.#postSend.call();
    if (last + 1 < this.depth) this.#setNext(last, true);
    // ibv_post_send returns an errno value directly.
    if (status !== 0) throw new RdmaError("ibv_post_send", status, `${ops.length} work requests`);
  }

  /** Polls up to {@link depth} completions (`ibv_poll_cq`); never blocks. */
  poll(): Completion[] {
    const n = this.#pollCq.call();
    if (n < 0) throw new RdmaError("ibv_poll_cq", 0, `returned ${n}`);
    const wc = LAYOUTS.ibv_wc;
    const out: Completion[] = [];
    for (let i = 0; i < n; i++) {
      const at = i * wc.size;
      out.push({
        wrId: this.#wcView.getBigUint64(at + wc.fields.wr_id, true),
        status: this.#wcView.getUint32(at + wc.fields.status, true),
        opcode: this.#wcView.getUint32(at + wc.fields.opcode, true),
        byteLen: this.#wcView.getUint32(at + wc.fields.byte_len, true),
      });
    }
    return out;
  }

  /** Arms the CQ so the next completion raises an event on its channel (`ibv_req_notify_cq`). */
  requestNotify(): void {
    const status = this.#reqNotify.call();
    if (status !== 0) throw new RdmaError("ibv_req_notify_cq", status);
  }
}

/**
 * Binds `ibv_post_recv(qp, recvWr, badWr)` through the ops table. The caller keeps `recvWr`
 * and `badWr` alive while the binding is used. (spirit's one-sided data path posts no
 * receives; this exists for completeness and for the call-path benchmark.)
 */
export function bindPostRecv(
  options: {
    context: IbvContextPtr;
    qp: IbvQpPtr;
    recvWr: Uint8Array;
    badWr: BigUint64Array;
    path: CallPath;
  },
): BoundCall {
  return bindCall(
    opsFunction(options.context, "post_recv"),
    [
      pointerArg(options.qp),
      pointerArg(Deno.UnsafePointer.of(options.recvWr)),
      pointerArg(Deno.UnsafePointer.of(options.badWr)),
    ],
    options.path,
  );
}
