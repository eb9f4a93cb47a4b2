/**
 * Allocation of many nodes on every core: node markets are independent, so a pool of workers
 * each solves a share of them. Same results as `allocateNodes` (the policies are deterministic);
 * used when a cluster has many compute nodes.
 * @module
 */
import type { NodeAllocation, NodeMarket } from "../auction/market.ts";
import type { PolicyName } from "../auction/policy.ts";
import { type AllocationJob, type AllocationReply, toData } from "./worker_protocol.ts";

const WORKER = new URL("./allocation_worker.ts", import.meta.url);

/** A pool of allocation workers; close it when done. */
export class AllocationPool implements Disposable {
  readonly #workers: Worker[];
  #nextJob = 1;
  #closed = false;

  /** Starts `size` workers (default: one per CPU). */
  constructor(size = navigator.hardwareConcurrency) {
    this.#workers = Array.from(
      { length: Math.max(1, size) },
      () => new Worker(WORKER, { type: "module" }),
    );
  }

  /** Workers in the pool. */
  get size(): number {
    return this.#workers.length;
  }

  /** Allocates every market, split into one contiguous share per worker. */
  async allocate(
    markets: readonly NodeMarket[],
    policy: PolicyName,
    options: { previous?: ReadonlyMap<string, NodeAllocation>; maxMoveFraction?: number } = {},
  ): Promise<NodeAllocation[]> {
    if (this.#closed) throw new Error("The allocation pool is closed");
    const share = Math.ceil(markets.length / this.#workers.length);
    const parts = await Promise.all(this.#workers.map((worker, w) => {
      const slice = markets.slice(w * share, (w + 1) * share);
      if (slice.length === 0) return Promise.resolve<NodeAllocation[]>([]);
      const job: AllocationJob = {
        job: this.#nextJob++,
        policy,
        markets: slice.map(toData),
        previous: slice.map((m) => options.previous?.get(m.id) ?? null),
        ...(options.maxMoveFraction === undefined
          ? {}
          : { maxMoveFraction: options.maxMoveFraction }),
      };
      return new Promise<NodeAllocation[]>((resolve, reject) => {
        worker.onmessage = (event: MessageEvent<AllocationReply>) => {
          const reply = event.data;
          if (reply.job !== job.job) return;
          if (reply.ok) resolve(reply.allocations);
          else reject(new Error(`Allocation worker failed: ${reply.error}`));
        };
        worker.onerror = (event) => {
          event.preventDefault();
          reject(new Error(`Allocation worker crashed: ${event.message}`));
        };
        worker.postMessage(job);
      });
    }));
    return parts.flat();
  }

  /** Stops the workers; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const worker of this.#workers) worker.terminate();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
