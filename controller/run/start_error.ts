/**
 * What went wrong while a run started: every step that failed, each with its host, what it was
 * doing and why, so the user reads what to fix (the run then tears down what had started).
 * @module
 */

/** One failed step of starting a run. */
export interface StartFailure {
  host: string;
  /** What the step was doing, e.g. "launching app kv". */
  step: string;
  /** Why it failed. */
  reason: string;
}

/** Starting a run failed; `failures` lists every step that did. */
export class StartError extends Error {
  readonly failures: StartFailure[];

  constructor(failures: StartFailure[], options?: ErrorOptions) {
    super(
      `The run could not start: ${
        failures.map((f) => `${f.host}: ${f.step} failed: ${f.reason}`).join("; ")
      }`,
      options,
    );
    this.name = "StartError";
    this.failures = failures;
  }

  /**
   * Waits for every promise (so whatever they started is known before teardown), then throws
   * one StartError with the failures of all that rejected, if any; else returns their values.
   */
  static async settle<T>(promises: readonly Promise<T>[]): Promise<T[]> {
    const outcomes = await Promise.allSettled(promises);
    const failures: StartFailure[] = [];
    const causes: unknown[] = [];
    const values: T[] = [];
    for (const outcome of outcomes) {
      if (outcome.status === "fulfilled") {
        values.push(outcome.value);
        continue;
      }
      const error = outcome.reason;
      causes.push(error);
      if (error instanceof StartError) failures.push(...error.failures);
      else failures.push({ host: "?", step: "starting", reason: String(error) });
    }
    if (failures.length > 0) {
      throw new StartError(failures, { cause: causes.length === 1 ? causes[0] : causes });
    }
    return values;
  }
}

/** Runs one step of starting on `host`; a failure becomes a StartError naming the step. */
export async function startStep<T>(
  host: string,
  step: string,
  action: () => Promise<T>,
): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof StartError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new StartError([{ host, step, reason }], { cause: error });
  }
}
