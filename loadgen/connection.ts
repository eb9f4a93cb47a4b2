/**
 * One pipelined connection to a key-value server: connect (retrying until the server is up),
 * send a batch of requests, read exactly as many replies.
 * @module
 */
import type { KvProtocol } from "./kv_protocol.ts";
import { formatServerAddress, type ServerAddress } from "./options.ts";

/** Replies of one batch, by kind. */
export interface BatchReplies {
  hits: number;
  misses: number;
  stored: number;
  errors: number;
  /** The last error message the server sent, if any. */
  lastError: string | null;
}

/**
 * Connects to `address`, retrying while the server is not up yet (refused, socket missing)
 * until `timeoutMs` has passed or `signal` aborts.
 * @throws {Error} naming the address and the last failure.
 */
export async function connectWithRetry(
  address: ServerAddress,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<Deno.Conn> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    try {
      if (address.kind === "unix") {
        return await Deno.connect({ transport: "unix", path: address.path });
      }
      const conn = await Deno.connect({ hostname: address.hostname, port: address.port });
      conn.setNoDelay(true);
      return conn;
    } catch (error) {
      const retryable = error instanceof Deno.errors.ConnectionRefused ||
        error instanceof Deno.errors.NotFound;
      if (!retryable || Date.now() >= deadline || options.signal?.aborted) {
        throw new Error(
          `Cannot connect to ${formatServerAddress(address)}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** A connection on which batches are sent and their replies counted. */
export class PipelinedConnection {
  readonly #conn: Deno.Conn;
  readonly #protocol: KvProtocol;
  #buffer = new Uint8Array(256 * 1024);
  #start = 0;
  #end = 0;
  #closed = false;

  constructor(conn: Deno.Conn, protocol: KvProtocol) {
    this.#conn = conn;
    this.#protocol = protocol;
  }

  /** Sends `batch` (holding `count` requests) and reads their `count` replies. */
  async exchange(batch: Uint8Array, count: number): Promise<BatchReplies> {
    let written = 0;
    while (written < batch.length) written += await this.#conn.write(batch.subarray(written));
    const replies: BatchReplies = { hits: 0, misses: 0, stored: 0, errors: 0, lastError: null };
    let received = 0;
    while (received < count) {
      const parsed = this.#protocol.parse(this.#buffer.subarray(0, this.#end), this.#start);
      if (parsed === null) {
        await this.#fill();
        continue;
      }
      this.#start = parsed.next;
      received++;
      const reply = parsed.reply;
      if (reply.kind === "hit") replies.hits++;
      else if (reply.kind === "miss") replies.misses++;
      else if (reply.kind === "stored") replies.stored++;
      else {
        replies.errors++;
        replies.lastError = reply.message;
      }
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return replies;
  }

  /** Reads more bytes, compacting or growing the buffer when it is full. */
  async #fill(): Promise<void> {
    if (this.#end === this.#buffer.length) {
      const pending = this.#end - this.#start;
      if (pending * 2 > this.#buffer.length) {
        // Mostly one large reply: grow.
        const grown = new Uint8Array(this.#buffer.length * 2);
        grown.set(this.#buffer.subarray(this.#start, this.#end));
        this.#buffer = grown;
      } else {
        this.#buffer.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = pending;
    }
    const read = await this.#conn.read(this.#buffer.subarray(this.#end));
    if (read === null) throw new Error(`The ${this.#protocol.name} server closed the connection`);
    this.#end += read;
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
  }
}
