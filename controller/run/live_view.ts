/**
 * What a run shows on the terminal: a live view redrawn each epoch (allocation, throughput,
 * prices, progress bar) on a terminal, plain lines otherwise; `quiet` prints only the end;
 * `json` prints one JSON object per line (events and epochs) for CI and scripts.
 * @module
 */
import { formatTable } from "../../common/table.ts";
import type { Playbook } from "../playbook/types.ts";
import { formatOpsPerSec, formatSummary } from "../results/summary_text.ts";
import type { EpochRecord, RunEvent, RunSummary } from "../results/types.ts";

/** Receives a run's progress. */
export interface LiveView {
  event(event: Omit<RunEvent, "time">): void;
  epoch(record: EpochRecord): void;
  done(result: { runDir: string; summary: RunSummary | null }): void;
}

function progressBar(fraction: number, width = 30): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(fraction * 100).toFixed(0)}%`;
}

/** Renders one epoch as text. */
export function renderEpoch(playbook: Playbook, record: EpochRecord): string {
  const fraction = playbook.durationMs === null ? 0 : record.elapsedMs / playbook.durationMs;
  const header =
    `${playbook.name} · ${record.policy} · epoch ${record.epoch} (${record.phase}) · ` +
    `${(record.elapsedMs / 1000).toFixed(0)} s ${
      playbook.durationMs === null ? "" : progressBar(fraction)
    }`;
  const apps = formatTable(
    [
      "app",
      "host",
      "cache MiB",
      "bandwidth Mbps",
      "ops/s",
      "predicted",
      "model",
      "vs equal split (model)",
      "probe",
    ],
    record.apps.map((a) => [
      a.name,
      a.host,
      a.cacheMiB.toFixed(0),
      a.bandwidthMbps.toFixed(0),
      a.opsPerSec === null ? "-" : formatOpsPerSec(a.opsPerSec),
      a.predictedOpsPerSec === null
        ? "-"
        : `${formatOpsPerSec(a.predictedOpsPerSec)}${
          a.uncertainty === undefined ? "" : ` ±${(100 * a.uncertainty).toFixed(0)}%`
        }`,
      a.model,
      a.opsPerSec === null || !a.equalSplitPredictedOpsPerSec
        ? "-"
        : `x${(a.opsPerSec / a.equalSplitPredictedOpsPerSec).toFixed(2)}`,
      a.probe === undefined
        ? ""
        : `${a.probe.role} ${a.probe.good} ${a.probe.direction} ${a.probe.amount.toFixed(0)}`,
    ]),
  );
  const prices = record.nodes.map((n) =>
    `${n.host}: ${
      n.prices === null
        ? "no prices (equal split)"
        : `cache ${n.prices.cache.toExponential(2)}/MiB, bandwidth ${
          n.prices.bandwidth.toExponential(2)
        }/Mbps`
    } (${n.auctionMs.toFixed(1)} ms)`
  ).join("; ");
  const note = record.policy === "static" ? "" : "\nvs equal split (model): against the " +
    "model's estimate of the app's equal-split throughput, not a measured static run";
  return `${header}\n${apps}\n${prices}${note}`;
}

/** The view for `mode` (`silent` shows nothing, for runs driven by code). */
export function liveView(
  playbook: Playbook,
  { mode, runDir }: { mode: "live" | "quiet" | "json" | "silent"; runDir: string },
): LiveView {
  const encoder = new TextEncoder();
  const write = (text: string) => Deno.stdout.writeSync(encoder.encode(text));
  const tty = Deno.stdout.isTerminal();
  let drawnLines = 0;
  if (mode === "live") write(`Run directory: ${runDir}\n`);
  return {
    event(event) {
      if (mode === "json") write(JSON.stringify({ type: "event", ...event }) + "\n");
      else if (
        mode === "live" &&
        (event.kind === "fault" || event.kind === "warning" || event.kind === "gap")
      ) {
        write(
          `${event.kind}: ${event.host ?? ""}${
            event.app ? `/${event.app}` : ""
          } ${event.message}\n`,
        );
        drawnLines = 0;
      }
    },
    epoch(record) {
      if (mode === "json") return write(JSON.stringify({ type: "epoch", ...record }) + "\n");
      if (mode !== "live") return;
      const text = renderEpoch(playbook, record) + "\n";
      if (tty && drawnLines > 0) write(`\x1b[${drawnLines}A\x1b[J`);
      write(text);
      drawnLines = text.split("\n").length - 1;
    },
    done({ runDir, summary }) {
      if (mode === "silent") return;
      if (mode === "live" && summary !== null) write(formatSummary(summary) + "\n");
      const line = `Results: ${runDir} (report: ${runDir}/report.html)`;
      if (mode === "json") {
        write(JSON.stringify({ type: "done", runDir, report: `${runDir}/report.html` }) + "\n");
      } else write(line + "\n");
    },
  };
}
