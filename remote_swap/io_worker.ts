/**
 * One I/O worker thread of the swap daemon: marks itself an I/O flusher, opens its own link to
 * the memory server, and runs the data path ({@link runIoLoop}) on the shared FUSE descriptor.
 * Talks to the daemon's main thread with {@link WorkerMessage}s. The same module serves as the
 * worker's entry point in a checkout; a bundled spirit starts the bundle itself as the worker
 * (host/cli.ts dispatches to {@link runSwapWorker} when it runs inside a worker).
 * @module
 */
import { installSwapWorker, inWorkerScope } from "./worker_entry.ts";
import { FuseChannel } from "../ffi/fuse.ts";
import { ErrnoError, setIoFlusher } from "../ffi/libc.ts";
import { RemoteError, TransportClosedError } from "../memserver/client/transport.ts";
import type { RetryPolicy, SwapBackend, SwapEvent } from "./backend.ts";
import { SwapFileSystem } from "./fuse_protocol.ts";
import { runIoLoop } from "./io_loop.ts";
import { openRdmaRegion, RdmaSwapBackend } from "./rdma_backend.ts";
import { type SharedBuffers, SwapSharedState } from "./shared_state.ts";
import { TcpSwapBackend } from "./tcp_backend.ts";
import { type LinkTarget, SwapLink } from "./tcp_link.ts";

/** The first message the main thread sends a worker. */
export interface WorkerInit {
  readonly role: "remote-swap-io";
  readonly worker: number;
  readonly fuseFd: number;
  readonly sizeBytes: number;
  readonly maxTransferBytes: number;
  readonly timeSec: number;
  readonly shared: SharedBuffers;
  readonly retry: RetryPolicy;
  readonly remote:
    | { readonly transport: "tcp"; readonly target: LinkTarget }
    | {
      readonly transport: "rdma";
      readonly hostname: string;
      readonly port: number;
      readonly token?: Uint8Array;
    };
}

/** What a worker tells the main thread. */
export type WorkerMessage =
  /** Connected; serving requests. `ioFlusher` says whether PR_SET_IO_FLUSHER took. */
  | { type: "ready"; worker: number; ioFlusher: true | { error: string } }
  /** Could not start (the memory server refused or is unreachable). */
  | { type: "refused"; worker: number; message: string; reason: "auth" | "unreachable" | "other" }
  | { type: "event"; event: SwapEvent }
  /** The FUSE connection ended; the worker has released its link and stops. */
  | { type: "ended"; worker: number; how: string };

/** Runs one worker until the FUSE connection ends. */
export async function runSwapWorker(
  init: WorkerInit,
  post: (message: WorkerMessage) => void,
): Promise<void> {
  let ioFlusher: true | { error: string } = true;
  try {
    setIoFlusher();
  } catch (error) {
    if (!(error instanceof ErrnoError)) throw error;
    ioFlusher = { error: error.message };
  }
  const state = SwapSharedState.attach(init.shared);
  const onEvent = (event: SwapEvent) => post({ type: "event", event });
  const options = { retry: init.retry, state, worker: init.worker, onEvent };
  let backend: SwapBackend;
  try {
    if (init.remote.transport === "tcp") {
      backend = new TcpSwapBackend(SwapLink.open(init.remote.target), {
        ...options,
        target: init.remote.target,
      });
    } else {
      const target = {
        hostname: init.remote.hostname,
        port: init.remote.port,
        sizeBytes: init.sizeBytes,
        ...(init.remote.token === undefined ? {} : { token: init.remote.token }),
      };
      backend = new RdmaSwapBackend(await openRdmaRegion(target), target, options);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const reason = error instanceof RemoteError && error.statusName === "AUTH_FAILED"
      ? "auth"
      : error instanceof TransportClosedError
      ? "unreachable"
      : "other";
    post({ type: "refused", worker: init.worker, message, reason });
    return;
  }
  post({ type: "ready", worker: init.worker, ioFlusher });
  const fs = new SwapFileSystem({
    sizeBytes: init.sizeBytes,
    maxTransferBytes: init.maxTransferBytes,
    timeSec: init.timeSec,
  });
  let how: string;
  try {
    how = await runIoLoop({
      channel: new FuseChannel(init.fuseFd),
      fs,
      backend,
      state,
      worker: init.worker,
    });
  } finally {
    await backend.release();
  }
  post({ type: "ended", worker: init.worker, how });
}

if (import.meta.main && inWorkerScope()) installSwapWorker();
