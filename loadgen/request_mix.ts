/**
 * Which request comes next: a zipfian key (popular keys scattered over the key space) and a
 * read or a write by the read ratio, from a seeded generator. Pure.
 * @module
 */
import { scatter, seededRandom, Zipf } from "../workloads/random.ts";
import type { LoadgenWorkload } from "./options.ts";

/** The name of key number `id` (0-based). */
export function keyName(id: number): string {
  return `key:${id}`;
}

/** One request to send. */
export interface Request {
  op: "get" | "set";
  key: string;
}

/** A seeded stream of requests; `stream` gives each connection its own. */
export class RequestMix {
  readonly #zipf: Zipf;
  readonly #scatter: (rank: number) => number;
  readonly #random: () => number;
  readonly #readRatio: number;

  constructor(workload: LoadgenWorkload, stream: number) {
    this.#random = seededRandom(workload.seed * 7919 + stream);
    this.#zipf = new Zipf(workload.keys, workload.skew, this.#random);
    this.#scatter = scatter(workload.keys);
    this.#readRatio = workload.readRatio;
  }

  /** The next request. */
  next(): Request {
    const op = this.#random() < this.#readRatio ? "get" : "set";
    return { op, key: keyName(this.#scatter(this.#zipf.next())) };
  }
}

/** A value of `bytes` printable bytes (the same for every key; servers store it opaquely). */
export function valueOf(bytes: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const value = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) value[i] = 97 + Math.floor(random() * 26);
  return value;
}
