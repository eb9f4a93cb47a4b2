/**
 * Seeded random numbers and key popularity for the synthetic workloads (pure).
 * @module
 */

/** A seeded 32-bit generator (mulberry32) returning numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Zipfian ranks in [0, n) with skew `theta` (Gray et al., as in YCSB): rank 0 is the most
 * popular. theta = 0 is uniform; 0.99 is YCSB's default.
 */
export class Zipf {
  readonly n: number;
  readonly theta: number;
  readonly #random: () => number;
  readonly #alpha: number;
  readonly #zetan: number;
  readonly #eta: number;
  readonly #half: number;

  /** Precomputes the generator (O(n) once). */
  constructor(n: number, theta: number, random: () => number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Invalid key count ${n}`);
    if (!(theta >= 0 && theta < 10)) {
      throw new RangeError(`Invalid zipf skew ${theta}: expected 0..10`);
    }
    // theta = 1 makes alpha infinite; a hair off 1 is indistinguishable in practice.
    const t = Math.abs(theta - 1) < 1e-6 ? 1 - 1e-6 : theta;
    this.n = n;
    this.theta = t;
    this.#random = random;
    let zetan = 0;
    for (let i = 1; i <= n; i++) zetan += 1 / Math.pow(i, t);
    const zeta2 = 1 + 1 / Math.pow(2, t);
    this.#zetan = zetan;
    this.#alpha = 1 / (1 - t);
    this.#eta = n <= 2 ? 1 : (1 - Math.pow(2 / n, 1 - t)) / (1 - zeta2 / zetan);
    this.#half = 1 + Math.pow(0.5, t);
  }

  /** The next rank. */
  next(): number {
    const u = this.#random();
    const uz = u * this.#zetan;
    if (uz < 1) return 0;
    if (uz < this.#half) return Math.min(1, this.n - 1);
    const rank = Math.floor(this.n * Math.pow(this.#eta * u - this.#eta + 1, this.#alpha));
    return Math.min(this.n - 1, Math.max(0, rank));
  }
}

/**
 * A bijection of [0, n) that scatters neighbouring ranks (multiplication by a constant coprime
 * with n), so popular keys do not all share a page.
 */
export function scatter(n: number): (rank: number) => number {
  if (n <= 2) return (rank) => rank;
  let multiplier = 2654435761 % n;
  while (multiplier <= 1 || gcd(multiplier, n) !== 1) multiplier = (multiplier + 1) % n;
  if (n * multiplier < Number.MAX_SAFE_INTEGER) return (rank) => (rank * multiplier) % n;
  return (rank) => Number((BigInt(rank) * BigInt(multiplier)) % BigInt(n));
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
