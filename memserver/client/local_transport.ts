/**
 * RemoteTransport over a MemoryPool in the same process (no network): for unit tests, the
 * client hit-path benchmark, and single-process setups.
 * @module
 */
import type { MemoryPool, Region } from "../pool.ts";
import {
  RemoteError,
  type RemoteRegion,
  type RemoteTransport,
  TransportClosedError,
  type TransportCounters,
} from "./transport.ts";

/** A transport whose "remote" memory is a local pool. */
export class LocalTransport implements RemoteTransport {
  readonly kind = "local";
  readonly maxTransferBytes = 1 << 20;
  readonly maxBatchPages = 1024;
  readonly #pool: MemoryPool;
  readonly #regions = new Map<number, Region>();
  readonly #counters: TransportCounters = {
    requests: 0,
    readBytes: 0,
    writeBytes: 0,
    inFlight: 0,
    maxInFlight: 0,
  };
  #closed = false;

  /** Serves regions from `pool`. */
  constructor(pool: MemoryPool) {
    this.#pool = pool;
  }

  #region(remote: RemoteRegion, offset: number, bytes: number): Region {
    if (this.#closed) throw new TransportClosedError("The transport was closed");
    const region = this.#regions.get(remote.id);
    if (region === undefined) {
      throw new RemoteError("access", { code: 6, name: "NO_SUCH_REGION", message: `${remote.id}` });
    }
    if (!(offset >= 0 && offset + bytes <= region.sizeBytes)) {
      throw new RemoteError("access", {
        code: 7,
        name: "OUT_OF_BOUNDS",
        message: `${offset}+${bytes}`,
      });
    }
    this.#counters.requests++;
    return region;
  }

  /** @inheritdoc */
  allocate(sizeBytes: number): Promise<RemoteRegion> {
    const region = this.#pool.allocate(sizeBytes, { owner: "local" });
    this.#regions.set(region.id, region);
    return Promise.resolve({ id: region.id, sizeBytes: region.sizeBytes });
  }

  /** @inheritdoc */
  free(remote: RemoteRegion): Promise<void> {
    this.#regions.delete(remote.id);
    this.#pool.free(remote.id);
    return Promise.resolve();
  }

  /** @inheritdoc */
  read(remote: RemoteRegion, offset: number, target: Uint8Array): Promise<void> {
    const region = this.#region(remote, offset, target.length);
    target.set(region.bytes.subarray(offset, offset + target.length));
    this.#counters.readBytes += target.length;
    return Promise.resolve();
  }

  /** @inheritdoc */
  write(remote: RemoteRegion, offset: number, source: Uint8Array): Promise<void> {
    const region = this.#region(remote, offset, source.length);
    region.bytes.set(source, offset);
    this.#counters.writeBytes += source.length;
    return Promise.resolve();
  }

  /** @inheritdoc */
  async readPages(
    remote: RemoteRegion,
    offsets: readonly number[],
    targets: readonly Uint8Array[],
  ): Promise<void> {
    for (let i = 0; i < offsets.length; i++) {
      const target = targets[i];
      if (target !== undefined) await this.read(remote, offsets[i] ?? 0, target);
    }
  }

  /** @inheritdoc */
  async writePages(
    remote: RemoteRegion,
    offsets: readonly number[],
    sources: readonly Uint8Array[],
  ): Promise<void> {
    for (let i = 0; i < offsets.length; i++) {
      const source = sources[i];
      if (source !== undefined) await this.write(remote, offsets[i] ?? 0, source);
    }
  }

  /** @inheritdoc */
  serverStats(): Promise<unknown> {
    return Promise.resolve({ pool: this.#pool.stats() });
  }

  /** @inheritdoc */
  counters(): TransportCounters {
    return { ...this.#counters };
  }

  /** Closes the transport and frees its regions still allocated (as a server does on disconnect). */
  close(): Promise<void> {
    this.#closed = true;
    for (const id of this.#regions.keys()) this.#pool.free(id);
    this.#regions.clear();
    return Promise.resolve();
  }
}
