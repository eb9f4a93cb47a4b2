/**
 * `symbiosis`: a Competitive Equilibrium from Equal Incomes for one compute node. Pure.
 *
 * Each app is endowed with its water-filled equal split of cache and bandwidth; prices are
 * normalised so the node's whole supply is worth one budget per app, and parametrised by the
 * cache share theta in [0, 1] of that value. Every app's budget line passes through its own
 * endowment, so at any prices each app can afford its equal split (sharing incentive) and
 * apps with equal endowments can afford each other's bundles (envy-freeness). Demand is
 * exact on the budget frontier (see demand.ts). Theta is found by bisection on the excess
 * demand for cache; by Walras' law, clearing cache clears bandwidth.
 *
 * Non-convex preferences (cliff-shaped miss-ratio curves) can make demand jump at the
 * clearing price, so no exact equilibrium exists. Then jumping apps are assigned whole options
 * that fit, and the remainder is absorbed by moving apps along their own budget lines where
 * that costs them under 0.2 % (first-order free at a smooth optimum). Every candidate is then
 * completed (completion.ts): what apps hold without gaining from it, and what nobody bought,
 * goes to the apps that gain from it, and what nobody gains from back toward the equal split.
 * Finally every guarantee is certified; if one fails, or only envy keeps a Pareto gap open, the
 * allocation is blended toward the (completed) equal split as little as needed.
 * @module
 */
import { certify, CERTIFY_TOLERANCE, groupIndex } from "./certification.ts";
import { complete } from "./completion.ts";
import { type BudgetSet, type Choice, demand, frontierOf } from "./demand.ts";
import { equalSplit } from "./equal_split.ts";
import { fitToCapacity } from "./feasibility.ts";
import { paretoGaps } from "./fairness.ts";
import { lastWhere } from "./search.ts";
import type { Bundle, NodeAllocation, NodeMarket, PolicyOptions } from "./market.ts";
import { opsOf } from "./market.ts";

/** Loss an app may take when moved along its budget line to absorb a demand jump. */
const ABSORB_LOSS = 0.002;
/** Losses tried, in order, when a demand jump cannot be absorbed within ABSORB_LOSS. */
const LOSS_LADDER = [ABSORB_LOSS, 0.0035, 0.01, 0.02, 0.05, 0.1];
/** Bisection steps when blending toward a fair allocation (precision 1/1024 of the way). */
const BLEND_STEPS = 10;
/**
 * Relative precision of the income scale. Settling just short of a demand jump leaves at most
 * this share of the budgets unspent; completion.ts hands what it leaves unsold to the apps
 * that gain from it.
 */
const SCALE_PRECISION = 1e-4;
/** Rounds of income rescaling after unspent money is found. */
const MAX_INCOME_ROUNDS = 40;
/** Default bound on movement per epoch, as a fraction of node capacity per good. */
export const DEFAULT_MAX_MOVE_FRACTION = 1;

interface PricePoint {
  theta: number;
  choices: Choice[];
  excessCacheMiB: number;
}

/** Solves one node's market. */
export function symbiosis(market: NodeMarket, options: PolicyOptions = {}): NodeAllocation {
  const n = market.apps.length;
  if (n === 0) {
    return { nodeId: market.id, bundles: [], prices: null, iterations: 0, converged: true };
  }
  const endowment = equalSplit(market);
  const capacityCache = Math.max(market.cacheMiB, 1e-9);
  const capacityBandwidth = Math.max(market.bandwidthMbps, 1e-9);
  const pricesAt = (theta: number) => ({
    cache: theta * n / capacityCache,
    bandwidth: (1 - theta) * n / capacityBandwidth,
  });
  // Income scale: money an app leaves unspent (satiated, or on a flat stretch of its curve)
  // is returned to the market by raising every income, which is the same as lowering the
  // price level until all goods that anyone wants are sold.
  let scale = options.previous?.incomeScale ?? 1;
  const budgetSet = (i: number, theta: number): BudgetSet => {
    const p = pricesAt(theta);
    const w = endowment[i] as Bundle;
    const app = market.apps[i];
    if (app === undefined) throw new RangeError(`No app at index ${i}`);
    return {
      priceCache: p.cache,
      priceBandwidth: p.bandwidth,
      budget: scale * (p.cache * w.cacheMiB + p.bandwidth * w.bandwidthMbps),
      limits: app.limits,
    };
  };
  let iterations = 0;
  const evaluate = (theta: number): PricePoint => {
    iterations++;
    const choices = market.apps.map((app, i) => demand(app.model, budgetSet(i, theta)));
    const demanded = choices.reduce((a, c) => a + c.bundle.cacheMiB, 0);
    return { theta, choices, excessCacheMiB: demanded - market.cacheMiB };
  };
  // `coarse` clearing (while the income scale is still being searched) needs only who
  // spends what, not the last digits of theta; the final clearing is always precise.
  const clearCache = (warm: number | undefined, coarse = false) => {
    const { lo, hi } = bracket(evaluate, warm, market.cacheMiB);
    let low = lo;
    let high = hi;
    const width = coarse ? 1e-6 : 1e-9;
    const tolerance = coarse ? 1e-3 : 1e-5;
    while (high.theta - low.theta > width && !choicesClose(low, high, market, tolerance)) {
      const mid = evaluate((low.theta + high.theta) / 2);
      if (mid.excessCacheMiB > 0) low = mid;
      else high = mid;
    }
    return { low, high };
  };

  let { low, high } = clearCache(options.previous?.theta);
  // Fixed point of the income scale: iterate while spending keeps the same side; once it
  // has been seen on both sides (a demand jump decides who spends), bisect, and settle on
  // the side where incomes are just short of the jump so every epoch lands on the same side.
  let under: number | null = null;
  let over: number | null = null;
  // The clearing theta seen at `under`: excess demand need not be monotone in theta once
  // incomes are rescaled, so the final clearing starts there to land on the same equilibrium.
  let underTheta: number | undefined;
  let coarse = false;
  const warmTheta = (theta: number) => theta > 0 && theta < 1 ? theta : undefined;
  const settled = options.previous?.incomeScale;
  for (let round = 0; round < MAX_INCOME_ROUNDS; round++) {
    const next = rescaledIncome(market, {
      point: high,
      scale,
      budgetSet: (i) => budgetSet(i, high.theta),
    });
    const gap = next - scale;
    if (Math.abs(gap) <= SCALE_PRECISION * scale) break;
    if (gap > 0) {
      under = scale;
      underTheta = warmTheta(high.theta);
    } else {
      over = scale;
    }
    if (under !== null && over !== null) {
      if (over - under <= SCALE_PRECISION * under) {
        scale = under;
        ({ low, high } = clearCache(underTheta));
        coarse = false;
        break;
      }
      scale = (under + over) / 2;
    } else if (round === 0 && gap > 0 && settled === scale) {
      // Last epoch settled just short of a demand jump: check that it still is.
      scale = scale * (1 + SCALE_PRECISION / 2);
    } else {
      scale = next;
    }
    ({ low, high } = clearCache(warmTheta(high.theta), true));
    coarse = true;
  }
  if (coarse) {
    ({ low, high } = clearCache(warmTheta(high.theta)));
  }

  const theta = high.theta;
  const candidates = resolveJump(market, { low, high, budgetSet: (i) => budgetSet(i, theta) });
  const chosen = chooseCandidate(market, candidates, endowment);
  const bundles = chosen.bundles;
  const converged = chosen.exact;
  let note = chosen.exact ? undefined : chosen.note;

  const bounded = boundMovement(market, bundles, options);
  if (bounded.limited) {
    note = `${note ? note + "; " : ""}moving toward the new equilibrium at most ${
      ((options.maxMoveFraction ?? 1) * 100).toFixed(0)
    }% of capacity per epoch`;
  }
  const result: NodeAllocation = {
    nodeId: market.id,
    bundles: bounded.bundles,
    prices: pricesAt(theta),
    iterations,
    converged: converged && !bounded.limited,
    theta,
    incomeScale: scale,
  };
  if (note !== undefined) result.note = note;
  return result;
}

/** A feasible allocation proposed at the clearing price, with how it was reached. */
interface Candidate {
  bundles: Bundle[];
  exact: boolean;
  note: string;
}

/**
 * Completes each candidate (feasibility, then completion.ts: idle holdings and unsold
 * capacity to the apps that gain from them, the rest back to its owners) and keeps the first
 * that certifies and has no practical Pareto gap; else the certified one with the highest
 * geometric-mean gain over the equal split; else the first candidate blended toward the
 * completed equal split as little as certification needs.
 */
function chooseCandidate(
  market: NodeMarket,
  candidates: Iterable<Candidate>,
  endowment: readonly Bundle[],
): Candidate {
  const groupOf = groupIndex(endowment);
  const finish = (bundles: readonly Bundle[]) => complete(market, bundles, { endowment, groupOf });
  const base = endowment.map((w, i) => opsOf(market, i, w));
  let bestWithGaps: { candidate: Candidate; score: number } | null = null;
  let first: Candidate | undefined;
  for (const candidate of candidates) {
    first ??= candidate;
    const completed = finish(fitToCapacity(market, candidate.bundles));
    if (!certify(market, completed, endowment)) continue;
    // Candidates come in order of increasing loss: the first fair and efficient one wins.
    if (paretoGaps(market, completed, CERTIFY_TOLERANCE).length === 0) {
      return { ...candidate, bundles: completed };
    }
    const score = completed.reduce(
      (a, b, i) =>
        a + Math.log(Math.max(opsOf(market, i, b), 1e-300) / Math.max(base[i] as number, 1e-300)),
      0,
    );
    if (bestWithGaps === null || score > bestWithGaps.score) {
      bestWithGaps = {
        candidate: {
          bundles: completed,
          exact: false,
          note: `${candidate.note || "equilibrium"}; some capacity stays with an app that ` +
            `gains nothing from it, as giving or selling it would make another app envious`,
        },
        score,
      };
    }
  }
  const anchor = finish(endowment);
  const fairAnchor = certify(market, anchor, endowment) ? anchor : [...endowment];
  if (bestWithGaps !== null) {
    // Closing the gap would create envy: step back toward the completed equal split, where
    // what an app gains nothing from can be handed on, as little as that needs.
    const repaired = gapFreeBlend(market, {
      anchor: fairAnchor,
      target: bestWithGaps.candidate.bundles,
      endowment,
      finish,
    });
    if (repaired === null) return bestWithGaps.candidate;
    return {
      bundles: repaired.bundles,
      exact: false,
      note: `approximate equilibrium: moved ${(repaired.alpha * 100).toFixed(1)}% of the way ` +
        `from the (completed) equal split, the most that keeps sharing incentive and ` +
        `envy-freeness and leaves no capacity idle that another app gains from`,
    };
  }
  if (first === undefined) throw new RangeError("No candidate allocation");
  const blended = blendTowardEqualSplit(
    market,
    finish(fitToCapacity(market, first.bundles)),
    { anchor: fairAnchor, endowment },
  );
  return {
    bundles: finish(blended.bundles),
    exact: false,
    note: `approximate equilibrium: moved ${(blended.alpha * 100).toFixed(1)}% of the way ` +
      `from the (completed) equal split, the most that keeps sharing incentive and ` +
      `envy-freeness`,
  };
}

/** Steps of the blend tried when an allocation has a Pareto gap only envy could close. */
const GAP_FREE_STEPS = [0.875, 0.75, 0.5, 0.25, 0.125, 0];

/**
 * The completed blend from `anchor` toward `target` with the largest step among
 * GAP_FREE_STEPS that certifies and has no practical Pareto gap; null if none has.
 */
function gapFreeBlend(
  market: NodeMarket,
  { anchor, target, endowment, finish }: {
    anchor: readonly Bundle[];
    target: readonly Bundle[];
    endowment: readonly Bundle[];
    finish: (bundles: readonly Bundle[]) => Bundle[];
  },
): { bundles: Bundle[]; alpha: number } | null {
  for (const alpha of GAP_FREE_STEPS) {
    const bundles = finish(blend(anchor, target, alpha));
    if (!certify(market, bundles, endowment)) continue;
    if (paretoGaps(market, bundles, CERTIFY_TOLERANCE).length === 0) return { bundles, alpha };
  }
  return null;
}

/**
 * The income scale at which total spending equals the value of the node's supply, given who
 * left money unspent at `point`: s = (V - unspent apps' spending) / (full spenders' endowment
 * value), where V is the value of all endowments. Never below 1.
 */
function rescaledIncome(
  market: NodeMarket,
  { point, scale, budgetSet }: {
    point: PricePoint;
    scale: number;
    budgetSet: (i: number) => BudgetSet;
  },
): number {
  let value = 0;
  let unspent = 0;
  let fullValue = 0;
  market.apps.forEach((_, i) => {
    const set = budgetSet(i);
    const endowmentValue = set.budget / scale;
    value += endowmentValue;
    const bundle = (point.choices[i] as Choice).bundle;
    const cost = set.priceCache * bundle.cacheMiB + set.priceBandwidth * bundle.bandwidthMbps;
    if (cost < set.budget * (1 - 1e-7)) unspent += cost;
    else fullValue += endowmentValue;
  });
  if (fullValue <= 0) return scale;
  return Math.max(1, (value - unspent) / fullValue);
}

/**
 * A bracket [lo, hi] of theta with excess cache demand >= 0 at lo and <= 0 at hi. Starts near
 * the previous epoch's theta when given, so a stable market is re-solved in a few steps and
 * the same equilibrium is kept when several exist.
 */
function bracket(
  evaluate: (theta: number) => PricePoint,
  warm: number | undefined,
  capacity: number,
): { lo: PricePoint; hi: PricePoint } {
  const clears = (p: PricePoint) => p.excessCacheMiB <= 1e-12 * Math.max(1, capacity);
  if (warm !== undefined && warm > 0 && warm < 1) {
    const at = evaluate(warm);
    let step = 1e-4;
    if (clears(at)) {
      let hi = at;
      for (;;) {
        const t = Math.max(0, hi.theta - step);
        const p = evaluate(t);
        if (!clears(p)) return { lo: p, hi };
        hi = p;
        if (t === 0) return { lo: p, hi: p };
        step *= 4;
      }
    }
    let lo = at;
    for (;;) {
      const t = Math.min(1, lo.theta + step);
      const p = evaluate(t);
      if (clears(p) || t === 1) return { lo, hi: p };
      lo = p;
      step *= 4;
    }
  }
  const free = evaluate(0);
  if (clears(free)) return { lo: free, hi: free };
  return { lo: free, hi: evaluate(1) };
}

function choicesClose(
  a: PricePoint,
  b: PricePoint,
  market: NodeMarket,
  tolerance: number,
): boolean {
  const cacheTolerance = tolerance * Math.max(1, market.cacheMiB);
  const bandwidthTolerance = tolerance * Math.max(1, market.bandwidthMbps);
  return a.choices.every((ca, i) => {
    const cb = b.choices[i] as Choice;
    return Math.abs(ca.bundle.cacheMiB - cb.bundle.cacheMiB) <= cacheTolerance &&
      Math.abs(ca.bundle.bandwidthMbps - cb.bundle.bandwidthMbps) <= bandwidthTolerance;
  });
}

/**
 * Turns the demands on both sides of the clearing price into a feasible allocation that
 * uses exactly the node's cache.
 */
function* resolveJump(
  market: NodeMarket,
  { low, high, budgetSet }: {
    low: PricePoint;
    high: PricePoint;
    budgetSet: (i: number) => BudgetSet;
  },
): Generator<Candidate> {
  const bundles = high.choices.map((c) => ({ ...c.bundle }));
  let deficit = market.cacheMiB - sum(bundles, "cacheMiB");
  const scale = Math.max(1, market.cacheMiB);
  if (deficit <= 1e-9 * scale || high === low) {
    yield { bundles, exact: true, note: "" };
    return;
  }
  // Jumping apps take their larger-cache option while it fits, largest jumps first.
  const jumps = low.choices
    .map((c, i) => ({ i, delta: c.bundle.cacheMiB - (bundles[i] as Bundle).cacheMiB }))
    .filter(({ delta }) => delta > 1e-9 * scale)
    .sort((a, b) => b.delta - a.delta || a.i - b.i);
  const remaining: typeof jumps = [];
  for (const jump of jumps) {
    if (jump.delta <= deficit + 1e-9 * scale) {
      bundles[jump.i] = { ...(low.choices[jump.i] as Choice).bundle };
      deficit -= jump.delta;
    } else {
      remaining.push(jump);
    }
  }
  if (deficit <= 1e-9 * scale) {
    yield { bundles, exact: true, note: "" };
    return;
  }

  // Absorb the rest by trading cache for bandwidth at market prices, where that costs apps
  // little (first-order free at a smooth optimum); or let the smallest remaining jumper take
  // its larger option and the others sell the overshoot. Every loss level that fits yields a
  // candidate, in order of increasing loss; the caller stops at the first fair and efficient one.
  remaining.sort((a, b) => a.delta - b.delta || a.i - b.i);
  for (const loss of LOSS_LADDER) {
    const absorbed = bundles.map((b) => ({ ...b }));
    if (spread(market, absorbed, { amount: deficit, loss, budgetSet })) {
      yield { bundles: absorbed, exact: loss <= ABSORB_LOSS, note: jumpNote(loss) };
    }
    const jumper = remaining[0];
    if (jumper === undefined) continue;
    const shed = bundles.map((b) => ({ ...b }));
    shed[jumper.i] = { ...(low.choices[jumper.i] as Choice).bundle };
    if (spread(market, shed, { amount: deficit - jumper.delta, loss, budgetSet, skip: jumper.i })) {
      yield { bundles: shed, exact: loss <= ABSORB_LOSS, note: jumpNote(loss) };
    }
  }
  // Jumpers keep their smaller options and the unsold cache goes to whoever gains from it.
  yield {
    bundles: bundles.map((b) => ({ ...b })),
    exact: false,
    note: "no exact equilibrium (demand jumps at the clearing price): cache left unsold " +
      "at the clearing price is given to the apps that gain from it",
  };
  // Or one jumping app takes an intermediate point on its budget line.
  const partial = remaining[0];
  if (partial !== undefined) {
    const split = bundles.map((b) => ({ ...b }));
    const b = split[partial.i] as Bundle;
    split[partial.i] = onBudgetLine(budgetSet(partial.i), b.cacheMiB + deficit);
    yield {
      bundles: split,
      exact: false,
      note: "no exact equilibrium (demand jumps at the clearing price): one app holds an " +
        "intermediate bundle",
    };
  }
}

/** The bundle on an app's budget frontier with `cacheMiB` of cache. */
function onBudgetLine(set: BudgetSet, cacheMiB: number): Bundle {
  const frontier = frontierOf(set);
  const cache = Math.min(frontier.cacheHi, Math.max(frontier.cacheLo, cacheMiB));
  return { cacheMiB: cache, bandwidthMbps: frontier.bandwidthAt(cache) };
}

/**
 * App i buys `delta` cache by selling bandwidth at market prices (or sells cache for
 * bandwidth when `delta` is negative): a move parallel to its budget line. Null when its
 * limits do not allow it.
 */
function tradeCache(set: BudgetSet, bundle: Bundle, delta: number): Bundle | null {
  if (set.priceBandwidth <= 0) return null;
  const cacheMiB = bundle.cacheMiB + delta;
  const bandwidthMbps = bundle.bandwidthMbps - delta * set.priceCache / set.priceBandwidth;
  const { limits } = set;
  if (cacheMiB > limits.maxCacheMiB + 1e-9 || cacheMiB < limits.minCacheMiB - 1e-9) return null;
  if (bandwidthMbps < limits.minBandwidthMbps - 1e-9) return null;
  if (bandwidthMbps > limits.maxBandwidthMbps + 1e-9) return null;
  return {
    cacheMiB: Math.min(limits.maxCacheMiB, Math.max(limits.minCacheMiB, cacheMiB)),
    bandwidthMbps: Math.min(
      limits.maxBandwidthMbps,
      Math.max(limits.minBandwidthMbps, bandwidthMbps),
    ),
  };
}

/** The most cache app i can trade in direction `sign` losing at most `loss`. */
function tradableCache(
  market: NodeMarket,
  i: number,
  { bundle, set, sign, loss }: { bundle: Bundle; set: BudgetSet; sign: 1 | -1; loss: number },
): number {
  const base = opsOf(market, i, bundle);
  if (base <= 0 || set.priceBandwidth <= 0 || set.priceCache <= 0) return 0;
  const rate = set.priceCache / set.priceBandwidth;
  const { limits } = set;
  const span = sign > 0
    ? Math.min(
      limits.maxCacheMiB - bundle.cacheMiB,
      (bundle.bandwidthMbps - limits.minBandwidthMbps) / rate,
    )
    : Math.min(
      bundle.cacheMiB - limits.minCacheMiB,
      (limits.maxBandwidthMbps - bundle.bandwidthMbps) / rate,
    );
  if (!(span > 0)) return 0;
  const ok = (amount: number) => {
    const moved = tradeCache(set, bundle, sign * amount);
    return moved !== null && opsOf(market, i, moved) >= base * (1 - loss);
  };
  if (ok(span)) return span;
  return lastWhere(ok, { lo: 0, hi: span, steps: 24 });
}

/**
 * Makes the apps (except `skip`) buy `amount` of cache in total (sell, if negative) in
 * proportion to what each can trade losing at most `loss`. Returns false, changing nothing,
 * when they cannot.
 */
function spread(
  market: NodeMarket,
  bundles: Bundle[],
  { amount, loss, budgetSet, skip = -1 }: {
    amount: number;
    loss: number;
    budgetSet: (i: number) => BudgetSet;
    skip?: number;
  },
): boolean {
  const sign = amount >= 0 ? 1 : -1;
  const need = Math.abs(amount);
  if (need <= 1e-9 * Math.max(1, market.cacheMiB)) return true;
  const room = bundles.map((bundle, i) =>
    i === skip ? 0 : tradableCache(market, i, { bundle, set: budgetSet(i), sign, loss })
  );
  const total = room.reduce((a, b) => a + b, 0);
  if (total < need * (1 - 1e-9)) return false;
  const share = Math.min(1, need / total);
  bundles.forEach((b, i) => {
    const moved = (room[i] as number) > 0
      ? tradeCache(budgetSet(i), b, sign * (room[i] as number) * share)
      : null;
    if (moved !== null) bundles[i] = moved;
  });
  return true;
}

function jumpNote(loss: number): string {
  return loss <= ABSORB_LOSS ? "" : `no exact equilibrium (demand jumps at the clearing price): ` +
    `apps trade along their budget lines to clear it, losing at most ${(loss * 100).toFixed(1)}%`;
}

type Good = "cacheMiB" | "bandwidthMbps";

function sum(bundles: readonly Bundle[], good: Good): number {
  return bundles.reduce((a, b) => a + b[good], 0);
}

function blend(a: readonly Bundle[], b: readonly Bundle[], alpha: number): Bundle[] {
  return a.map((x, i) => {
    const y = b[i] as Bundle;
    return {
      cacheMiB: x.cacheMiB + alpha * (y.cacheMiB - x.cacheMiB),
      bandwidthMbps: x.bandwidthMbps + alpha * (y.bandwidthMbps - x.bandwidthMbps),
    };
  });
}

/** The largest step from the anchor toward `target` that still certifies. */
function blendTowardEqualSplit(
  market: NodeMarket,
  target: readonly Bundle[],
  { anchor, endowment }: { anchor: Bundle[]; endowment: readonly Bundle[] },
): { bundles: Bundle[]; alpha: number } {
  if (certify(market, target, endowment)) return { bundles: [...target], alpha: 1 };
  const alpha = lastWhere((a) => certify(market, blend(anchor, target, a), endowment), {
    lo: 0,
    hi: 1,
    steps: BLEND_STEPS,
  });
  return { bundles: blend(anchor, target, alpha), alpha };
}

/** Limits the change from the previous allocation to `maxMoveFraction` of capacity. */
function boundMovement(
  market: NodeMarket,
  bundles: Bundle[],
  options: PolicyOptions,
): { bundles: Bundle[]; limited: boolean } {
  const previous = options.previous?.bundles;
  const fraction = options.maxMoveFraction ?? DEFAULT_MAX_MOVE_FRACTION;
  if (previous === undefined || previous.length !== bundles.length || fraction >= 1) {
    return { bundles, limited: false };
  }
  let largest = 0;
  bundles.forEach((b, i) => {
    const p = previous[i] as Bundle;
    largest = Math.max(
      largest,
      Math.abs(b.cacheMiB - p.cacheMiB) / Math.max(market.cacheMiB, 1e-9),
      Math.abs(b.bandwidthMbps - p.bandwidthMbps) / Math.max(market.bandwidthMbps, 1e-9),
    );
  });
  if (largest <= fraction) return { bundles, limited: false };
  return { bundles: blend(previous, bundles, fraction / largest), limited: true };
}
