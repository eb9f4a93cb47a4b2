/**
 * The allocation in force: the one owner of what each app has actually been given (bytes and
 * bytes per second), told the outcome of every enforcement. It also plans enforcement per node:
 * shrinks first, then grows, and a grow only ever takes capacity no app holds in force, so a
 * failed shrink can never lead to an overcommitted node. Pure (no I/O).
 * @module
 */
import type { ResourceBytes } from "../auction/units.ts";
import type { RunPlan } from "./plan.ts";

/** One app's allocation as a record shows it. */
export interface AppAllocation {
  /** What the app has been given (its last successful enforcement, or its launch). */
  inForce: ResourceBytes;
  /** What the policy last asked for. */
  requested: ResourceBytes;
  /** Why `inForce` differs from `requested`; null when they are equal. */
  notApplied: string | null;
  /** The epoch whose enforcement last changed `inForce` (-1: the launch). */
  changedAtEpoch: number;
  /** True while the app's process is gone and it holds nothing (see `release`). */
  released: boolean;
}

/** One set-allocation to send. */
export interface EnforcementStep {
  app: string;
  allocation: ResourceBytes;
}

interface Entry extends AppAllocation {
  node: string;
}

const RESOURCES = ["cacheBytes", "bandwidthBytesPerSec"] as const;

function same(a: ResourceBytes, b: ResourceBytes): boolean {
  return a.cacheBytes === b.cacheBytes && a.bandwidthBytesPerSec === b.bandwidthBytesPerSec;
}

/** The allocation in force of every app of a run. */
export class AllocationState {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity = new Map<string, ResourceBytes>();

  /** Every app starts with its launch allocation (the equal split) in force. */
  constructor(plan: RunPlan) {
    for (const compute of plan.computes) {
      this.#capacity.set(compute.host, compute.capacity);
      for (const app of compute.apps) {
        this.#entries.set(app.name, {
          node: compute.host,
          inForce: { ...app.launch.allocation },
          requested: { ...app.launch.allocation },
          notApplied: null,
          changedAtEpoch: -1,
          released: false,
        });
      }
    }
  }

  #entry(app: string): Entry {
    const entry = this.#entries.get(app);
    if (entry === undefined) throw new RangeError(`No app "${app}" in this run`);
    return entry;
  }

  /** The allocation in force for `app`. */
  inForce(app: string): ResourceBytes {
    return { ...this.#entry(app).inForce };
  }

  /** Every app's allocation as it stands now (what an epoch record shows). */
  snapshot(): Map<string, AppAllocation> {
    return new Map(
      [...this.#entries].map(([app, e]) => [app, {
        inForce: { ...e.inForce },
        requested: { ...e.requested },
        notApplied: e.notApplied,
        changedAtEpoch: e.changedAtEpoch,
        released: e.released,
      }]),
    );
  }

  /** The apps of `node`, in plan order. */
  appsOf(node: string): string[] {
    return [...this.#entries].filter(([, e]) => e.node === node).map(([app]) => app);
  }

  /** Sum of what the apps of `node` hold in force. */
  allocated(node: string): ResourceBytes {
    const total = { cacheBytes: 0, bandwidthBytesPerSec: 0 };
    for (const e of this.#entries.values()) {
      if (e.node !== node) continue;
      total.cacheBytes += e.inForce.cacheBytes;
      total.bandwidthBytesPerSec += e.inForce.bandwidthBytesPerSec;
    }
    return total;
  }

  /** Records the policy's new targets (apps not named keep theirs). */
  request(targets: ReadonlyMap<string, ResourceBytes>): void {
    for (const [app, target] of targets) {
      const entry = this.#entry(app);
      entry.requested = { ...target };
      entry.notApplied = same(entry.inForce, target) ? null : "not enforced yet";
    }
  }

  /**
   * The first enforcement round of `node`: every app whose target is below what it holds, on
   * either resource, steps down to the smaller of the two on each (its grows wait for round two).
   */
  shrinkSteps(node: string, options: { skip?: ReadonlySet<string> } = {}): EnforcementStep[] {
    const steps: EnforcementStep[] = [];
    for (const [app, e] of this.#entries) {
      if (e.node !== node || options.skip?.has(app)) continue;
      const step = {
        cacheBytes: Math.min(e.inForce.cacheBytes, e.requested.cacheBytes),
        bandwidthBytesPerSec: Math.min(
          e.inForce.bandwidthBytesPerSec,
          e.requested.bandwidthBytesPerSec,
        ),
      };
      if (!same(step, e.inForce)) steps.push({ app, allocation: step });
    }
    return steps;
  }

  /**
   * The second round of `node`, after the shrinks settled (or, with `assuming`, planned as if
   * these shrinks had been applied): grows, out of what no app holds in force. When the grows do not all fit (a shrink failed, an app is down), each gets the same
   * share of its missing amount; what is missing is retried next epoch.
   */
  growSteps(
    node: string,
    options: { skip?: ReadonlySet<string>; assuming?: readonly EnforcementStep[] } = {},
  ): EnforcementStep[] {
    const capacity = this.#capacity.get(node);
    if (capacity === undefined) throw new RangeError(`No compute node "${node}" in this run`);
    // With `assuming` (this round's shrinks), grows are planned as if those were in force.
    const assumed = new Map(options.assuming?.map((s) => [s.app, s.allocation]));
    const held = (app: string, e: Entry) => assumed.get(app) ?? e.inForce;
    const allocated = { cacheBytes: 0, bandwidthBytesPerSec: 0 };
    for (const [app, e] of this.#entries) {
      if (e.node !== node) continue;
      for (const r of RESOURCES) allocated[r] += held(app, e)[r];
    }
    const growing = [...this.#entries].filter(([app, e]) =>
      e.node === node && !options.skip?.has(app) &&
      RESOURCES.some((r) => e.requested[r] > held(app, e)[r])
    );
    const grants = new Map<string, ResourceBytes>(
      growing.map(([app, e]) => [app, { ...held(app, e) }]),
    );
    for (const r of RESOURCES) {
      const free = Math.max(0, capacity[r] - allocated[r]);
      const need = growing.map(([app, e]) => Math.max(0, e.requested[r] - held(app, e)[r]));
      const total = need.reduce((a, b) => a + b, 0);
      const share = total <= free ? 1 : free / total;
      growing.forEach(([app], i) => {
        const grant = grants.get(app);
        if (grant !== undefined) grant[r] += Math.floor((need[i] ?? 0) * share);
      });
    }
    return growing.flatMap(([app, e]) => {
      const allocation = grants.get(app);
      return allocation === undefined || same(allocation, held(app, e))
        ? []
        : [{ app, allocation }];
    });
  }

  /**
   * The app's process is gone (it crashed, exited, or was left down) in `epoch`: it holds
   * nothing from now on, so what it had is free for the other apps of its node, and nothing is
   * requested for it. It gets a share again through a grow step (a relaunch at that
   * allocation). Idempotent.
   */
  release(app: string, epoch: number): void {
    const entry = this.#entry(app);
    const none = { cacheBytes: 0, bandwidthBytesPerSec: 0 };
    if (!same(entry.inForce, none)) entry.changedAtEpoch = epoch;
    entry.inForce = { ...none };
    entry.requested = { ...none };
    entry.notApplied = null;
    entry.released = true;
  }

  /** True while `app` holds nothing since its release. */
  isReleased(app: string): boolean {
    return this.#entry(app).released;
  }

  /** An enforcement step succeeded in `epoch`: `allocation` is now in force for `app`. */
  applied(app: string, allocation: ResourceBytes, epoch: number): void {
    const entry = this.#entry(app);
    const before = entry.inForce;
    entry.inForce = { ...allocation };
    const capacity = this.#capacity.get(entry.node);
    const allocated = this.allocated(entry.node);
    if (
      capacity !== undefined &&
      RESOURCES.some((r) => allocation[r] > before[r] && allocated[r] > capacity[r])
    ) {
      entry.inForce = before;
      throw new RangeError(
        `Allocation of ${app} would overcommit node ${entry.node}: ${
          JSON.stringify(allocated)
        } in force, capacity ${JSON.stringify(capacity)}`,
      );
    }
    if (!same(before, allocation)) entry.changedAtEpoch = epoch;
    entry.released = false;
    entry.notApplied = same(entry.inForce, entry.requested) ? null : entry.notApplied;
  }

  /** Why `app` does not have what was requested after this epoch's enforcement. */
  notApplied(app: string, reason: string): void {
    const entry = this.#entry(app);
    entry.notApplied = same(entry.inForce, entry.requested) ? null : reason;
  }
}
