/**
 * Live metrics of a run: a record sink fed the same epoch records and events as the run
 * directory, rendering them in the Prometheus text format. Per app: allocation, use,
 * throughput, prediction and model kind; per node: capacity, prices, allocated and used
 * fractions, auction time; per epoch: the time of each control-loop step; events and faults
 * by kind. Gauges show the latest epoch (an app that left the run leaves the metrics); counters
 * count from the start of the run. Sizes in bytes, rates in bytes/s, times in seconds. Pure.
 * @module
 */
import { BYTES_PER_MIB, BYTES_PER_SEC_PER_MBPS } from "../../common/units.ts";
import { appRecordExtras } from "./record_extras.ts";
import { encodeExposition, type MetricFamily, type MetricSample } from "./prometheus.ts";
import type { EpochRecord, RecordSink, RunEvent } from "./types.ts";

/** The control-loop steps timed in each epoch record. */
const STEPS = ["collect", "estimate", "auction", "enforce", "total"] as const;

/**
 * Event kinds counted as faults (by `details.fault` when it names one); an event of another
 * kind that names a fault (an app that exited by itself: `stop`, `app-exited`) counts too.
 */
const FAULT_KINDS: ReadonlySet<string> = new Set(["fault", "gap"]);

type Labels = Record<string, string>;

function gauge(name: string, help: string, samples: MetricSample[]): MetricFamily {
  return { name, help, type: "gauge", samples };
}

function counter(name: string, help: string, counts: Map<string, number>, label: string) {
  return {
    name,
    help,
    type: "counter" as const,
    samples: [...counts].map(([value, count]) => ({ labels: { [label]: value }, value: count })),
  };
}

/** `value * factor`, or null when the value is missing (records are read defensively). */
const scaled = (value: number | undefined, factor: number) =>
  typeof value === "number" ? value * factor : null;

/** Samples of `value(x)` for every x with a finite value, labelled by `labels(x)`. */
function samples<T>(
  items: readonly T[],
  labels: (item: T) => Labels,
  value: (item: T) => number | null | undefined,
): MetricSample[] {
  return items.flatMap((item) => {
    const v = value(item);
    return typeof v === "number" && Number.isFinite(v) ? [{ labels: labels(item), value: v }] : [];
  });
}

/** The live metrics of one run; feed it records and events, read `exposition()`. */
export class RunMetrics implements RecordSink {
  readonly #run: { playbook: string; policy: string };
  #last: EpochRecord | null = null;
  #epochs = 0;
  readonly #stepSeconds = new Map<string, number>(STEPS.map((s) => [s, 0]));
  readonly #events = new Map<string, number>();
  readonly #faults = new Map<string, number>();

  constructor(run: { playbook: string; policy: string }) {
    this.#run = { ...run };
  }

  /** Takes the latest epoch. */
  epoch(record: EpochRecord): void {
    this.#last = record;
    this.#epochs++;
    if (record.timings === undefined) return;
    const ms: Record<typeof STEPS[number], number> = {
      collect: record.timings.collectMs,
      estimate: record.timings.estimateMs,
      auction: record.timings.auctionMs,
      enforce: record.timings.enforceMs,
      total: record.timings.totalMs,
    };
    for (const step of STEPS) {
      if (Number.isFinite(ms[step])) {
        this.#stepSeconds.set(step, (this.#stepSeconds.get(step) ?? 0) + ms[step] / 1000);
      }
    }
  }

  /** Counts an event, and a fault when it is one (a fault or gap, or any naming a fault). */
  event(event: RunEvent): void {
    this.#events.set(event.kind, (this.#events.get(event.kind) ?? 0) + 1);
    const named = event.details?.fault;
    const slug = typeof named === "string" && named !== "" ? named : null;
    if (slug === null && !FAULT_KINDS.has(event.kind)) return;
    const kind = slug ??
      (event.app !== undefined && event.details?.exit !== undefined ? "app-crashed" : event.kind);
    this.#faults.set(kind, (this.#faults.get(kind) ?? 0) + 1);
  }

  /** Every metric family, latest epoch first per subject. */
  families(): MetricFamily[] {
    const r = this.#last;
    const apps = r?.apps ?? [];
    const nodes = r?.nodes ?? [];
    const app = (a: typeof apps[number]) => ({ app: a.name, host: a.host });
    const host = (n: typeof nodes[number]) => ({ host: n.host });
    const perResource = (
      value: (n: typeof nodes[number], resource: "cache" | "bandwidth") => number | null,
    ) =>
      nodes.flatMap((n) =>
        samples(
          ["cache", "bandwidth"] as const,
          (resource) => ({ host: n.host, resource }),
          (resource) => value(n, resource),
        )
      );
    const onNode = (n: typeof nodes[number]) => apps.filter((a) => a.host === n.host);
    const fraction = (amount: number, capacity: number) => capacity > 0 ? amount / capacity : null;
    return [
      gauge("spirit_run_info", "The run: playbook and policy (value 1).", [{
        labels: { playbook: this.#run.playbook, policy: this.#run.policy },
        value: 1,
      }]),
      {
        name: "spirit_epochs_total",
        help: "Epochs recorded.",
        type: "counter",
        samples: [{ value: this.#epochs }],
      },
      gauge(
        "spirit_run_elapsed_seconds",
        "Time since the run started, at the end of the latest epoch.",
        r === null ? [] : [{ value: r.elapsedMs / 1000 }],
      ),
      gauge(
        "spirit_warmup",
        "1 while the run warms up (epochs left out of the summary), else 0.",
        r === null ? [] : [{ value: r.phase === "warmup" ? 1 : 0 }],
      ),
      gauge(
        "spirit_app_cache_allocated_bytes",
        "Cache allocated to the app in the latest epoch.",
        samples(apps, app, (a) => a.cacheMiB * BYTES_PER_MIB),
      ),
      gauge(
        "spirit_app_bandwidth_allocated_bytes_per_second",
        "Remote-memory bandwidth allocated to the app in the latest epoch.",
        samples(apps, app, (a) => a.bandwidthMbps * BYTES_PER_SEC_PER_MBPS),
      ),
      gauge(
        "spirit_app_cache_used_bytes",
        "Cache the app held (resident), averaged over the latest epoch.",
        samples(apps, app, (a) => scaled(a.used?.cacheMiB, BYTES_PER_MIB)),
      ),
      gauge(
        "spirit_app_remote_read_bytes_per_second",
        "Remote-memory reads of the app over the latest epoch.",
        samples(apps, app, (a) => scaled(a.used?.remoteReadMbps, BYTES_PER_SEC_PER_MBPS)),
      ),
      gauge(
        "spirit_app_remote_write_bytes_per_second",
        "Remote-memory writes of the app over the latest epoch.",
        samples(apps, app, (a) => scaled(a.used?.remoteWriteMbps, BYTES_PER_SEC_PER_MBPS)),
      ),
      gauge(
        "spirit_app_throughput_ops_per_second",
        "Observed throughput of the app over the latest epoch (absent without a sample).",
        samples(apps, app, (a) => a.opsPerSec),
      ),
      gauge(
        "spirit_app_predicted_ops_per_second",
        "The model's prediction for the app's allocation in the latest epoch.",
        samples(apps, app, (a) => a.predictedOpsPerSec),
      ),
      gauge(
        "spirit_app_equal_split_predicted_ops_per_second",
        "The model's prediction for the app at the equal split (the static baseline).",
        samples(apps, app, (a) => a.equalSplitPredictedOpsPerSec),
      ),
      gauge(
        "spirit_app_model_info",
        "Where the app's prediction comes from (label kind: mrc, constant, grid, equal-split, unknown); value 1.",
        samples(apps, (a) => ({ ...app(a), kind: String(a.model) }), () => 1),
      ),
      gauge(
        "spirit_app_allocation_applied",
        "1 when the allocation the policy asked for is the one in force, 0 when it could not be applied.",
        samples(apps, app, (a) => appRecordExtras(a).requested === null ? 1 : 0),
      ),
      gauge(
        "spirit_app_up",
        "1 when the app was running at the end of the latest epoch, 0 when it was down.",
        samples(apps, app, (a) => appRecordExtras(a).down === null ? 1 : 0),
      ),
      gauge(
        "spirit_app_limit_enforced",
        "1 when the app's limit on the resource could be enforced, else 0.",
        apps.flatMap((a) =>
          a.enforced === undefined ? [] : (["cache", "bandwidth"] as const).map((resource) => ({
            labels: { ...app(a), resource },
            value: a.enforced?.[resource] ? 1 : 0,
          }))
        ),
      ),
      gauge(
        "spirit_node_cache_capacity_bytes",
        "Cache shared on the node.",
        samples(nodes, host, (n) => n.cacheMiB * BYTES_PER_MIB),
      ),
      gauge(
        "spirit_node_bandwidth_capacity_bytes_per_second",
        "Remote-memory bandwidth shared on the node.",
        samples(nodes, host, (n) => n.bandwidthMbps * BYTES_PER_SEC_PER_MBPS),
      ),
      gauge(
        "spirit_node_price",
        "Clearing price of the resource on the node (budget units per MiB or per Mbps; absent for policies without prices).",
        perResource((n, resource) => n.prices?.[resource] ?? null),
      ),
      gauge(
        "spirit_node_allocated_ratio",
        "Fraction of the node's capacity of the resource allocated to its apps.",
        perResource((n, resource) =>
          resource === "cache"
            ? fraction(onNode(n).reduce((s, a) => s + a.cacheMiB, 0), n.cacheMiB)
            : fraction(onNode(n).reduce((s, a) => s + a.bandwidthMbps, 0), n.bandwidthMbps)
        ),
      ),
      gauge(
        "spirit_node_utilisation_ratio",
        "Fraction of the node's capacity of the resource used by its apps (resident cache; remote reads + writes).",
        perResource((n, resource) =>
          resource === "cache"
            ? fraction(onNode(n).reduce((s, a) => s + (a.used?.cacheMiB ?? 0), 0), n.cacheMiB)
            : fraction(
              onNode(n).reduce(
                (s, a) => s + (a.used?.remoteReadMbps ?? 0) + (a.used?.remoteWriteMbps ?? 0),
                0,
              ),
              n.bandwidthMbps,
            )
        ),
      ),
      gauge(
        "spirit_node_auction_seconds",
        "Wall time of the node's allocation step in the latest epoch.",
        samples(nodes, host, (n) => n.auctionMs / 1000),
      ),
      gauge(
        "spirit_node_auction_iterations",
        "Price-search iterations of the node's allocation step in the latest epoch.",
        samples(nodes, host, (n) => n.iterations),
      ),
      gauge(
        "spirit_node_auction_converged",
        "1 when the node's market reached an equilibrium in the latest epoch, else 0.",
        samples(nodes, host, (n) => n.converged === undefined ? null : n.converged ? 1 : 0),
      ),
      gauge(
        "spirit_epoch_step_seconds",
        "Time of each control-loop step (collect, estimate, auction, enforce, total) in the latest epoch.",
        r?.timings === undefined ? [] : samples(STEPS, (step) => ({ step }), (step) => {
          const t = r.timings;
          return t === undefined ? null : t[`${step}Ms`] / 1000;
        }),
      ),
      {
        name: "spirit_epoch_step_seconds_total",
        help: "Time of each control-loop step, summed over the run's epochs.",
        type: "counter",
        samples: STEPS.map((step) => ({
          labels: { step },
          value: this.#stepSeconds.get(step) ?? 0,
        })),
      },
      counter("spirit_events_total", "Run events by kind.", this.#events, "kind"),
      counter(
        "spirit_faults_total",
        "Faults and gaps by kind (details.fault when the event names one, app-crashed for an app that crashed in a record without it, else fault or gap).",
        this.#faults,
        "kind",
      ),
    ];
  }

  /** The exposition text. */
  exposition(): string {
    return encodeExposition(this.families());
  }
}
