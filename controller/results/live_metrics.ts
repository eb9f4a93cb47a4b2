/**
 * `--metrics-listen HOST:PORT`: the run's live metrics, served while it runs. Parses the
 * address, starts the endpoint and says where it is (on stderr, so `--json-log` output stays
 * clean); a bad or unusable address is refused before anything starts.
 * @module
 */
import { parseListenAddress } from "./listen_address.ts";
import { RunMetrics } from "./metrics.ts";
import { MetricsListenError, serveMetrics } from "./metrics_server.ts";

/** Exit status for a bad flag value. */
const EXIT_USAGE = 2;
/** Exit status when the endpoint cannot listen where it was told. */
const EXIT_LISTEN = 1;

/** The live metrics of a run: feed `sink` to the run writer, `close` when the run ends. */
export interface LiveMetrics {
  sink: RunMetrics;
  /** Where the metrics are served (null for a dry run, which serves nothing). */
  url: string | null;
  close(): Promise<void>;
}

/**
 * Starts serving the metrics of a run of `playbook` at `listen` (`HOST:PORT`), or returns the
 * exit status after printing why it cannot. A dry run only checks the address.
 */
export function startLiveMetrics(
  listen: string,
  playbook: { name: string; policy: string },
  options: { dryRun?: boolean } = {},
): LiveMetrics | number {
  let address;
  try {
    address = parseListenAddress(listen);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    console.error(`error: ${error.message}`);
    return EXIT_USAGE;
  }
  const sink = new RunMetrics({ playbook: playbook.name, policy: playbook.policy });
  if (options.dryRun) return { sink, url: null, close: () => Promise.resolve() };
  try {
    const server = serveMetrics(address, () => sink.exposition());
    console.error(`metrics: ${server.url}`);
    return { sink, url: server.url, close: () => server.close() };
  } catch (error) {
    if (!(error instanceof MetricsListenError)) throw error;
    console.error(`error: ${error.message}`);
    return EXIT_LISTEN;
  }
}
