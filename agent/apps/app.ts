/**
 * What the agent core needs from one supervised app, whatever enforces it.
 * @module
 */
import type { Allocation, AppExit, AppId, AppSample, AppStatus } from "../protocol.ts";

/** A sample before the core numbers it and derives rates from the previous one. */
export type RawSample = Omit<
  AppSample,
  "seq" | "opsPerSec" | "swapInBytesPerSec" | "swapOutBytesPerSec"
>;

/** One app under the agent. */
export interface ManagedApp {
  readonly appId: AppId;
  status(): AppStatus;
  /** Applies a new allocation; `stepping` while a cache shrink continues. */
  setAllocation(allocation: Allocation): Promise<"immediate" | "stepping">;
  /** Reads every metric once. */
  measure(): Promise<RawSample>;
  /** Stops the app (SIGTERM, then SIGKILL after `graceMs`) and releases its cgroup. Idempotent. */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** Resolves when the app's process has ended (null for adopted cgroups, which have none). */
  readonly exited: Promise<AppExit | null>;
}

/** Numbers a raw sample and adds per-second rates against the previous sample (pure). */
export function withRates(
  raw: RawSample,
  options: { previous: RawSample | undefined; seq: number },
): AppSample {
  const { previous, seq } = options;
  const seconds = previous === undefined ? 0 : (raw.timeMs - previous.timeMs) / 1000;
  const rate = (now: number | null, before: number | null | undefined) =>
    now === null || before === null || before === undefined || seconds <= 0
      ? null
      : Math.max(0, now - before) / seconds;
  return {
    ...raw,
    seq,
    opsPerSec: rate(raw.opsTotal, previous?.opsTotal),
    swapInBytesPerSec: rate(raw.swapInBytes, previous?.swapInBytes) ?? 0,
    swapOutBytesPerSec: rate(raw.swapOutBytes, previous?.swapOutBytes) ?? 0,
  };
}
