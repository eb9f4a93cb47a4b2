/**
 * The data path of one swap I/O worker: read a FUSE request, serve it from remote memory,
 * reply; repeat until the mount goes away. Page states decide what needs the memory server:
 * pages never written read as zeros locally, lost pages fail with EIO, writes pass the node's
 * write cap first. Buffers are allocated once per worker.
 * @module
 */
import { FuseDisconnectedError } from "../ffi/fuse.ts";
import { IoErrno, type SwapBackend, SwapIoError } from "./backend.ts";
import { type FuseAction, REPLY_DATA_OFFSET, SwapFileSystem } from "./fuse_protocol.ts";
import { PageState, type SwapSharedState } from "./shared_state.ts";

const PAGE = 4096;

/** Reads requests and writes replies (a FuseChannel, or a fake in tests). */
export interface RequestChannel {
  read(buffer: Uint8Array<ArrayBuffer>): number;
  write(reply: Uint8Array<ArrayBuffer>): boolean;
}

/** Options of {@link runIoLoop}. */
export interface IoLoopOptions {
  readonly channel: RequestChannel;
  readonly fs: SwapFileSystem;
  readonly backend: SwapBackend;
  readonly state: SwapSharedState;
  readonly worker: number;
}

/** How the loop ended. */
export type IoLoopEnd = "disconnected" | "destroyed";

type IoAction = Extract<FuseAction, { kind: "read" | "write" | "discard" }>;

/** Serves requests until the FUSE connection ends (unmount, abort) or the kernel sends DESTROY. */
export async function runIoLoop(options: IoLoopOptions): Promise<IoLoopEnd> {
  const { channel, fs } = options;
  const request = new Uint8Array(fs.requestBufferBytes);
  const reply = new Uint8Array(fs.replyBufferBytes);
  for (;;) {
    let length: number;
    try {
      length = channel.read(request);
    } catch (error) {
      if (error instanceof FuseDisconnectedError) return "disconnected";
      throw error;
    }
    const action = fs.handle(request.subarray(0, length), reply);
    if (action.kind === "none") continue;
    if (action.kind === "reply" || action.kind === "destroy") {
      channel.write(reply.subarray(0, action.length));
      if (action.kind === "destroy") return "destroyed";
      continue;
    }
    let replyBytes: number;
    try {
      const pending = perform(options, action, request, reply);
      replyBytes = typeof pending === "number" ? pending : await pending;
    } catch (error) {
      if (!(error instanceof SwapIoError)) throw error;
      options.state.count(options.worker, "ioErrors");
      replyBytes = SwapFileSystem.errorReply(reply, action.unique, error.errno);
    }
    channel.write(reply.subarray(0, replyBytes));
  }
}

/** Serves one data request; returns the reply length (synchronously when the backend is). */
function perform(
  options: IoLoopOptions,
  action: IoAction,
  request: Uint8Array<ArrayBuffer>,
  reply: Uint8Array<ArrayBuffer>,
): number | Promise<number> {
  const { backend, state, worker } = options;
  if (action.kind === "discard") {
    // Only whole pages inside the range are forgotten.
    const first = Math.ceil(action.offset / PAGE);
    const end = Math.floor((action.offset + action.length) / PAGE);
    const done = () => {
      state.mark(worker, first, end - first, PageState.EMPTY);
      state.count(worker, "discardOps");
      state.count(worker, "bytesDiscarded", (end - first) * PAGE);
      return SwapFileSystem.emptyReply(reply, action.unique);
    };
    if (end <= first) return done();
    return then(backend.discard(first * PAGE, (end - first) * PAGE), done);
  }
  if (action.offset % PAGE !== 0 || action.size % PAGE !== 0) {
    throw new SwapIoError(IoErrno.EINVAL, "swap I/O must be whole 4 KiB pages");
  }
  const first = action.offset / PAGE;
  const count = action.size / PAGE;
  if (action.kind === "write") {
    const waitedMs = state.takeWrite(action.size);
    if (waitedMs > 0) state.count(worker, "writeCapWaitMs", waitedMs);
    const source = request.subarray(action.dataAt, action.dataAt + action.size);
    return then(backend.write(action.offset, source), () => {
      state.mark(worker, first, count, PageState.STORED);
      state.count(worker, "writeOps");
      state.count(worker, "bytesWritten", action.size);
      return SwapFileSystem.writeReply(reply, action.unique, action.size);
    });
  }
  const target = reply.subarray(REPLY_DATA_OFFSET, REPLY_DATA_OFFSET + action.size);
  const { anyLost, allEmpty } = state.range(first, count);
  if (anyLost) {
    throw new SwapIoError(IoErrno.EIO, "the memory server lost some of these pages");
  }
  const done = () => {
    for (let i = 0; i < count; i++) {
      const page = state.page(first + i);
      // A reconnect during this read may have found the region gone: never return its zeros.
      if (page === PageState.LOST) {
        throw new SwapIoError(IoErrno.EIO, "the memory server lost some of these pages");
      }
      // Pages never written (or discarded) read as zeros, whatever the remote side holds.
      if (page === PageState.EMPTY) target.fill(0, i * PAGE, (i + 1) * PAGE);
    }
    state.count(worker, "readOps");
    state.count(worker, "bytesRead", action.size);
    return SwapFileSystem.readReply(reply, action.unique, action.size);
  };
  if (allEmpty) return done();
  return then(backend.read(action.offset, target), done);
}

function then(pending: void | Promise<void>, next: () => number): number | Promise<number> {
  return pending instanceof Promise ? pending.then(next) : next();
}
