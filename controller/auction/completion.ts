/**
 * Completing a market allocation so that it never idles capacity. Pure.
 *
 * Every app keeps only what it gains from (its bundle trimmed by slope: see IDLE_RATE); what
 * is trimmed, and what nobody bought, forms a pool per good, split into lots by where it came
 * from. Then, per good:
 *
 * 1. **Gifts**: the pool goes to the apps that gain from it, in equal additions capped at what
 *    each can use, or, where that would make another app envy a receiver, slice by slice to
 *    the app gaining most from each slice, each as much as envy-freeness allows. Gifts of one
 *    good can make the other useful, so both goods are handed out in a few rounds.
 * 2. **Returns**: what nobody gains from goes back where the equal split put it: first to the
 *    apps holding less than their endowment of the good (in proportion to what they lack),
 *    then to the apps it was trimmed from, then to any app. An app never gives up below its
 *    endowment capacity that nobody takes.
 *
 * Every step keeps sharing incentive (no app loses more than a trimmed sliver) and checks
 * envy-freeness among equally endowed apps around the apps it changes, so a certified input
 * stays certified. Where only envy stands in the way of a gift, the gap stays; symbiosis.ts
 * then looks for an allocation closer to the equal split that has none.
 * @module
 */
import { CERTIFY_TOLERANCE, envyAround } from "./certification.ts";
import { trim } from "./demand.ts";
import { IDLE_LOSS } from "./fairness.ts";
import { type Bundle, type NodeMarket, opsOf } from "./market.ts";
import { lastWhere } from "./search.ts";

/** A good, by its key in a bundle. */
export type Good = "cacheMiB" | "bandwidthMbps";

/** Bandwidth first: which cache an app gains from depends on the bandwidth it holds. */
const GOODS: readonly Good[] = ["bandwidthMbps", "cacheMiB"];
/**
 * Per good, an app counts as gaining nothing from an amount A of its holding when giving it up
 * costs it less than IDLE_RATE × A / capacity of its throughput (at most one IDLE_LOSS per
 * tolerance-sized share of the capacity): the slope below which fairness.ts's Pareto-gap test
 * would find an idle amount worth reporting. Trimming by slope, rather than by a fixed loss,
 * takes all of a nearly flat holding at once and nothing at a smooth optimum.
 */
const IDLE_RATE = (2 * IDLE_LOSS) / CERTIFY_TOLERANCE;
/** Slices a pool is handed out in when equal additions are not envy-free. */
const GIFT_SLICES = 16;
/** Rounds of gifts over both goods (each can make the other good useful again). */
const ROUNDS = 3;
/** Bisection steps when searching the largest envy-free gift. */
const SEARCH_STEPS = 12;

/** Part of a pool: an amount of a good taken from `holder` (-1: never allocated). */
interface Lot {
  holder: number;
  amount: number;
}

/** Where each good's pool came from, and how the allocation looks while it is handed out. */
interface State {
  market: NodeMarket;
  /** The allocation being completed, as it came in. */
  original: readonly Bundle[];
  bundles: Bundle[];
  ops: number[];
  endowment: readonly Bundle[];
  groupOf: readonly (readonly number[])[];
  lots: Record<Good, Lot[]>;
  /** Smallest amount worth moving, per good. */
  epsilon: Record<Good, number>;
}

/**
 * Completes a feasible allocation: trims idle holdings, gives the pool to the apps
 * that gain from it, and returns the rest to the apps short of their endowment, then to the
 * apps it came from (see the module documentation).
 */
export function complete(
  market: NodeMarket,
  bundles: readonly Bundle[],
  { endowment, groupOf }: {
    endowment: readonly Bundle[];
    groupOf: readonly (readonly number[])[];
  },
): Bundle[] {
  const state: State = {
    market,
    original: bundles,
    bundles: bundles.map((b) => ({ ...b })),
    ops: bundles.map((b, i) => opsOf(market, i, b)),
    endowment,
    groupOf,
    lots: { cacheMiB: [], bandwidthMbps: [] },
    epsilon: {
      cacheMiB: 1e-9 * Math.max(1, market.cacheMiB),
      bandwidthMbps: 1e-9 * Math.max(1, market.bandwidthMbps),
    },
  };
  const trimmed = trimIdle(state);
  for (const good of GOODS) {
    const lots: Lot[] = [];
    bundles.forEach((b, i) => {
      const amount = b[good] - (trimmed[i] as Bundle)[good];
      if (amount > state.epsilon[good]) lots.push({ holder: i, amount });
    });
    const unallocated = capacityOf(market, good) - sum(bundles, good);
    if (unallocated > state.epsilon[good]) lots.push({ holder: -1, amount: unallocated });
    state.lots[good] = lots;
  }
  for (let round = 0; round < ROUNDS; round++) {
    let moved = false;
    for (const good of GOODS) moved = give(state, good) || moved;
    if (!moved) break;
  }
  for (const good of GOODS) giveBack(state, good);
  return state.bundles;
}

/**
 * Trims every app to what it gains from (see IDLE_RATE), except where the small loss would
 * make the app envy another one; returns the trimmed bundles.
 */
function trimIdle(state: State): Bundle[] {
  const trimmed = state.bundles.map((b, i) => {
    const lean = { ...b };
    for (const good of GOODS) lean[good] -= idleBelow(state, i, { bundle: lean, good });
    return lean;
  });
  const changes = new Map(
    trimmed.flatMap((b, i) => {
      const before = state.bundles[i] as Bundle;
      return b.cacheMiB < before.cacheMiB || b.bandwidthMbps < before.bandwidthMbps
        ? [[i, b] as const]
        : [];
    }),
  );
  if (fair(state, changes, "shrunk")) {
    apply(state, changes);
  } else {
    for (const [i, bundle] of changes) {
      const single = new Map([[i, bundle]]);
      if (fair(state, single, "shrunk")) {
        apply(state, single);
        continue;
      }
      // The slope's small loss would make the app envious: trim only what costs it nothing.
      const app = state.market.apps[i];
      const before = state.bundles[i] as Bundle;
      if (app === undefined) continue;
      const flat = trim(app.model, app.limits, { ...before });
      if (flat.cacheMiB < before.cacheMiB || flat.bandwidthMbps < before.bandwidthMbps) {
        const exact = new Map([[i, flat]]);
        if (fair(state, exact, "shrunk")) apply(state, exact);
      }
    }
  }
  return state.bundles;
}

/** The most of `good` app i can give up at a cost below IDLE_RATE (see there). */
function idleBelow(state: State, i: number, { bundle, good }: { bundle: Bundle; good: Good }) {
  const spare = bundle[good] - minOf(state, i, good);
  if (!(spare > state.epsilon[good])) return 0;
  const base = opsOf(state.market, i, bundle);
  if (!(base > 0)) return spare;
  const rate = IDLE_RATE / capacityOf(state.market, good);
  const idle = (amount: number) =>
    1 - opsOf(state.market, i, plus(bundle, good, -amount)) / base <=
      Math.max(rate * amount, 1e-12);
  if (idle(spare)) return spare;
  // Costs grow faster than linearly on concave curves: the idle amounts form an interval.
  if (!idle(spare * 1e-3)) return 0;
  return lastWhere(idle, { lo: spare * 1e-3, hi: spare, steps: 30 });
}

function capacityOf(market: NodeMarket, good: Good): number {
  return good === "cacheMiB" ? market.cacheMiB : market.bandwidthMbps;
}

function sum(bundles: readonly Bundle[], good: Good): number {
  return bundles.reduce((a, b) => a + b[good], 0);
}

function poolOf(state: State, good: Good): number {
  return state.lots[good].reduce((a, lot) => a + lot.amount, 0);
}

/** Takes `amount` out of the pool, from every lot in proportion. */
function takeFromPool(state: State, good: Good, amount: number): void {
  const total = poolOf(state, good);
  const keep = total > 0 ? Math.max(0, 1 - amount / total) : 0;
  for (const lot of state.lots[good]) lot.amount *= keep;
  state.lots[good] = state.lots[good].filter((lot) => lot.amount > state.epsilon[good]);
}

function maxOf(state: State, i: number, good: Good): number {
  const limits = state.market.apps[i]?.limits;
  if (limits === undefined) return 0;
  return good === "cacheMiB" ? limits.maxCacheMiB : limits.maxBandwidthMbps;
}

function minOf(state: State, i: number, good: Good): number {
  const limits = state.market.apps[i]?.limits;
  if (limits === undefined) return 0;
  return good === "cacheMiB" ? limits.minCacheMiB : limits.minBandwidthMbps;
}

/** How much more of `good` app i can use (up to `available` and its maximum). */
export function usefulExtra(
  market: NodeMarket,
  i: number,
  { bundle, good, available, minGain = 1e-9 }: {
    bundle: Bundle;
    good: Good;
    available: number;
    /** Relative gain from all of `available` below which the app counts as not gaining. */
    minGain?: number;
  },
): number {
  const app = market.apps[i];
  if (app === undefined) return 0;
  const max = good === "cacheMiB" ? app.limits.maxCacheMiB : app.limits.maxBandwidthMbps;
  const room = Math.min(available, max - bundle[good]);
  if (room <= 0) return 0;
  const at = (extra: number) => opsOf(market, i, { ...bundle, [good]: bundle[good] + extra });
  const full = at(room);
  const base = at(0);
  if (full <= base * (1 + minGain)) return 0;
  // The smallest extra that already reaches the full gain.
  return lastWhere((extra) => at(extra) >= full * (1 - 1e-9), {
    lo: 0,
    hi: room,
    steps: 20,
    holds: "above",
  });
}

/** Splits `amount` into equal additions, each capped at `caps[i]`. */
export function waterAdd(amount: number, caps: readonly number[]): number[] {
  const order = caps.map((c, i) => ({ c, i })).filter(({ c }) => c > 0).sort((a, b) => a.c - b.c);
  const out = caps.map(() => 0);
  let left = amount;
  let count = order.length;
  for (const { c, i } of order) {
    const each = left / count;
    const give = Math.min(c, each);
    out[i] = give;
    left -= give;
    count--;
  }
  return out;
}

/** The allocation with some bundles replaced, and the throughputs that go with it. */
function withChanges(
  state: State,
  changes: ReadonlyMap<number, Bundle>,
): { bundles: Bundle[]; ops: number[] } {
  const bundles = state.bundles.slice();
  const ops = state.ops.slice();
  for (const [i, bundle] of changes) {
    bundles[i] = bundle;
    ops[i] = opsOf(state.market, i, bundle);
  }
  return { bundles, ops };
}

/**
 * True when the changes leave nobody envying a changed app, or a changed app envying anybody,
 * within their groups. Bundles that only grow (`grown`, gifts and returns) can only be envied;
 * trimmed apps (`shrunk`) can only come to envy.
 */
function fair(
  state: State,
  changes: ReadonlyMap<number, Bundle>,
  kind: "grown" | "shrunk" = "grown",
): boolean {
  const trial = withChanges(state, changes);
  const changed = [...changes.keys()];
  return !envyAround(state.market, trial.bundles, {
    ...(kind === "grown" ? { grown: changed } : {
      // A fall below rounding noise cannot matter against the 0.1 % margin between the
      // certified (0.4 %) and the promised (0.5 %) envy tolerance.
      shrunk: changed.filter((i) =>
        (trial.ops[i] as number) < (state.ops[i] as number) * (1 - 1e-9)
      ),
    }),
    groupOf: state.groupOf,
    ownOps: trial.ops,
  });
}

function apply(state: State, changes: ReadonlyMap<number, Bundle>): void {
  const next = withChanges(state, changes);
  state.bundles = next.bundles;
  state.ops = next.ops;
}

function plus(bundle: Bundle, good: Good, amount: number): Bundle {
  return { ...bundle, [good]: bundle[good] + amount };
}

/**
 * Hands the pool of `good` to the apps that gain from it, a slice at a time, each slice to the
 * app gaining most from it (relative to its throughput), as far as envy-freeness allows.
 */
function give(state: State, good: Good): boolean {
  const { market } = state;
  let left = poolOf(state, good);
  if (left <= state.epsilon[good]) return false;
  // Equal additions, capped at what each app can use, keep equally treated apps equal.
  const usable = state.bundles.map((bundle, i) =>
    usefulExtra(market, i, {
      bundle,
      good,
      available: left,
      minGain: (IDLE_RATE * left) / capacityOf(market, good),
    })
  );
  if (usable.every((u) => u <= state.epsilon[good])) return false;
  const adds = waterAdd(left, usable);
  const equal = new Map<number, Bundle>();
  adds.forEach((a, i) => {
    if (a > 0) equal.set(i, plus(state.bundles[i] as Bundle, good, a));
  });
  if (fair(state, equal)) {
    apply(state, equal);
    takeFromPool(state, good, adds.reduce((a, b) => a + b, 0));
    return true;
  }
  // Else slices, each to the app gaining most from it, as far as nobody envies it.
  const slice = left / GIFT_SLICES;
  const blocked = new Set<number>();
  let moved = false;
  for (let step = 0; step < 4 * GIFT_SLICES && left > state.epsilon[good]; step++) {
    const amount = Math.min(slice, left);
    let best = { i: -1, gain: (IDLE_RATE * amount) / capacityOf(market, good) };
    state.bundles.forEach((bundle, i) => {
      if (blocked.has(i)) return;
      const room = Math.min(amount, maxOf(state, i, good) - bundle[good]);
      if (room <= state.epsilon[good]) return;
      const gain =
        opsOf(market, i, plus(bundle, good, room)) / Math.max(state.ops[i] as number, 1e-300) - 1;
      if (gain > best.gain) best = { i, gain };
    });
    if (best.i < 0) break;
    const receiver = state.bundles[best.i] as Bundle;
    const useful = usefulExtra(market, best.i, { bundle: receiver, good, available: amount });
    const given = largestFair(state, { i: best.i, good, cap: useful });
    if (given <= state.epsilon[good]) {
      blocked.add(best.i);
      continue;
    }
    if (given < useful * (1 - 1e-9)) blocked.add(best.i);
    apply(state, new Map([[best.i, plus(receiver, good, given)]]));
    takeFromPool(state, good, given);
    left -= given;
    moved = true;
  }
  return moved;
}

/** The largest gift of `good` up to `cap` that leaves nobody envying app i. */
function largestFair(state: State, { i, good, cap }: { i: number; good: Good; cap: number }) {
  const bundle = state.bundles[i] as Bundle;
  const ok = (amount: number) => fair(state, new Map([[i, plus(bundle, good, amount)]]));
  if (ok(cap)) return cap;
  return lastWhere(ok, { lo: 0, hi: cap, steps: SEARCH_STEPS });
}

/**
 * Returns what nobody gains from to where the equal split put it: the apps holding less than
 * their endowment of `good` first, in proportion to what they lack; then to the apps it was
 * trimmed from.
 */
function giveBack(state: State, good: Good): void {
  const { market } = state;
  if (poolOf(state, good) <= state.epsilon[good]) return;
  let left = poolOf(state, good);
  if (left <= state.epsilon[good]) return;
  const deficits = state.bundles.map((b, i) =>
    Math.max(0, Math.min((state.endowment[i] as Bundle)[good], maxOf(state, i, good)) - b[good])
  );
  const short = deficits.reduce((a, b) => a + b, 0);
  if (short > state.epsilon[good]) {
    const share = Math.min(1, left / short);
    const returns = new Map<number, Bundle>();
    deficits.forEach((d, i) => {
      if (d > 0) returns.set(i, plus(state.bundles[i] as Bundle, good, d * share));
    });
    if (fair(state, returns)) {
      apply(state, returns);
      takeFromPool(state, good, short * share);
    } else {
      // One app at a time, each as much of its share as nobody envies it for.
      for (const i of returns.keys()) {
        const amount = largestFair(state, { i, good, cap: (deficits[i] as number) * share });
        if (amount <= state.epsilon[good]) continue;
        apply(state, new Map([[i, plus(state.bundles[i] as Bundle, good, amount)]]));
        takeFromPool(state, good, amount);
      }
    }
    left = poolOf(state, good);
  }
  // The rest goes back to where it was trimmed from, up to what each app held before.
  returnToHolders(state, good, (h) => (state.original[h] as Bundle)[good]);
  // What is left (never allocated, or no holder can take it back fairly): to any app that can
  // hold it fairly.
  left = poolOf(state, good);
  for (let i = 0; i < market.apps.length && left > state.epsilon[good]; i++) {
    const bundle = state.bundles[i] as Bundle;
    const cap = Math.min(left, maxOf(state, i, good) - bundle[good]);
    if (cap <= state.epsilon[good]) continue;
    const amount = largestFair(state, { i, good, cap });
    if (amount <= state.epsilon[good]) continue;
    apply(state, new Map([[i, plus(bundle, good, amount)]]));
    takeFromPool(state, good, amount);
    left -= amount;
  }
}

/** Gives each lot back to its holder, up to `upTo(holder)`, as far as nobody envies it. */
function returnToHolders(state: State, good: Good, upTo: (holder: number) => number): void {
  for (const lot of state.lots[good]) {
    if (lot.holder < 0) continue;
    const holder = state.bundles[lot.holder] as Bundle;
    const cap = Math.min(lot.amount, upTo(lot.holder) - holder[good]);
    if (cap <= state.epsilon[good]) continue;
    const amount = largestFair(state, { i: lot.holder, good, cap });
    if (amount <= state.epsilon[good]) continue;
    apply(state, new Map([[lot.holder, plus(holder, good, amount)]]));
    lot.amount -= amount;
  }
  state.lots[good] = state.lots[good].filter((lot) => lot.amount > state.epsilon[good]);
}
