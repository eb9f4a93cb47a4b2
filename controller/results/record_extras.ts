/**
 * Fields of an app's epoch record that the run loop adds when enforcement or the app itself
 * failed: what was requested when it differs from what was in force, why it was not applied,
 * and why the app was down. Read defensively (older records lack them). Pure.
 * @module
 */
import type { AppEpochRecord } from "./types.ts";

/** The optional fields, normalised. */
export interface AppRecordExtras {
  /** What the policy asked for when it differs from the allocation in force. */
  requested: { cacheMiB: number; bandwidthMbps: number } | null;
  /** Why `requested` was not applied. */
  notApplied: string | null;
  /** Why the app was not running at the end of the epoch. */
  down: string | null;
}

/** Reads `requested`, `notApplied` and `down` of an app record, whatever their presence. */
export function appRecordExtras(app: AppEpochRecord): AppRecordExtras {
  const loose = app as unknown as Record<string, unknown>;
  const requested = loose.requested as Record<string, unknown> | undefined;
  const text = (value: unknown) => typeof value === "string" && value !== "" ? value : null;
  return {
    requested: typeof requested?.cacheMiB === "number" &&
        typeof requested.bandwidthMbps === "number"
      ? { cacheMiB: requested.cacheMiB, bandwidthMbps: requested.bandwidthMbps }
      : null,
    notApplied: text(loose.notApplied),
    down: text(loose.down),
  };
}
