/**
 * Exploration probes as the epoch records show them: on the node, and as each app was
 * concerned (probed, giving to the probed app, or taking what it gave up). Pure.
 * @module
 */
import { bundleOfBytes, type ResourceBytes } from "../auction/units.ts";
import type { Probe } from "../estimator/explore.ts";
import type { AppProbeRecord, NodeProbeRecord } from "../results/types.ts";

/** Amounts below this (MiB or Mbps) are rounding, not a move. */
const MOVED = 1e-3;

const GOOD = { cacheMiB: "cache", bandwidthMbps: "bandwidth" } as const;

/** The node's record of `probe`. */
export function nodeProbeRecord(probe: Probe): NodeProbeRecord {
  return {
    app: probe.app,
    good: GOOD[probe.good],
    direction: probe.direction > 0 ? "up" : "down",
    amount: probe.amount,
    expectedLoss: { ...probe.expectedLoss },
  };
}

/**
 * How `probe` concerned app `app`, whose allocation in force was `inForce` while the policy
 * meant `policy`; null when it did not (its share of the probed good did not move).
 */
export function appProbeRecord(
  probe: Probe,
  { app, inForce, policy }: { app: string; inForce: ResourceBytes; policy: ResourceBytes },
): AppProbeRecord | null {
  const moved = bundleOfBytes(inForce)[probe.good] - bundleOfBytes(policy)[probe.good];
  const expectedLoss = probe.expectedLoss[app] ?? 0;
  if (app === probe.app) {
    return {
      role: "probed",
      good: GOOD[probe.good],
      direction: probe.direction > 0 ? "up" : "down",
      amount: Math.abs(moved) > MOVED ? Math.abs(moved) : probe.amount,
      expectedLoss,
    };
  }
  if (Math.abs(moved) <= MOVED) return null;
  return {
    role: moved < 0 ? "giving" : "taking",
    good: GOOD[probe.good],
    direction: moved > 0 ? "up" : "down",
    amount: Math.abs(moved),
    expectedLoss,
  };
}
