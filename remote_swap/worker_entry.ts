/**
 * How a swap I/O worker starts: the worker takes its first message (its `WorkerInit`) at once and
 * loads the I/O code (remote_swap/io_worker.ts) only then, so the deployed bundle, which is also
 * every worker's module, does not evaluate the FUSE, memory-server and RDMA code when it runs
 * any other command.
 * @module
 */
import type { WorkerInit, WorkerMessage } from "./io_worker.ts";

/** True when this code runs inside a Web Worker. */
export function inWorkerScope(): boolean {
  const scope = (globalThis as { WorkerGlobalScope?: new () => unknown }).WorkerGlobalScope;
  return scope !== undefined && globalThis instanceof scope;
}

/** The parts of a worker's global scope used here (typed without the worker lib). */
interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent<WorkerInit>) => void) | null;
}

/** Installs the message handler that turns this worker into a swap I/O worker. */
export function installSwapWorker(): void {
  const scope = globalThis as unknown as WorkerScope;
  const post = (message: WorkerMessage) => scope.postMessage(message);
  scope.onmessage = (event: MessageEvent<WorkerInit>) => {
    scope.onmessage = null;
    const init = event.data;
    import("./io_worker.ts")
      .then(({ runSwapWorker }) => runSwapWorker(init, post))
      .catch((error) => {
        post({
          type: "event",
          event: {
            event: "worker-failed",
            worker: init.worker,
            message: error instanceof Error ? error.message : String(error),
          },
        });
      });
  };
}
