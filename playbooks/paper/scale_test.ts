import assert from "node:assert/strict";
import { parseDurationMs, parseRateBytesPerSec, parseSizeBytes } from "../../common/units.ts";
import {
  APP_DATASETS,
  PAPER_EPOCH_SEC,
  PAPER_NODE,
  PAPER_RUN,
  paperComputeNode,
  paperDataset,
} from "./scale.ts";

const GIB = 2 ** 30;
/** What a node's bandwidth reads in one epoch, as a share of its cache. */
const fillPerEpoch = (o: { bandwidthBytesPerSec: number; epochSec: number; cacheBytes: number }) =>
  (o.bandwidthBytesPerSec * o.epochSec) / o.cacheBytes;

Deno.test("paper scale keeps the paper's ratio of what a node fills per epoch to its cache", () => {
  const paper = fillPerEpoch({
    bandwidthBytesPerSec: (PAPER_NODE.bandwidthGbps * 1e9) / 8,
    epochSec: PAPER_EPOCH_SEC,
    cacheBytes: PAPER_NODE.cacheGiB * GIB,
  });
  const node = paperComputeNode("mem");
  const ours = fillPerEpoch({
    bandwidthBytesPerSec: parseRateBytesPerSec(node.bandwidth),
    epochSec: parseDurationMs(PAPER_RUN.epoch) / 1000,
    cacheBytes: parseSizeBytes(node.cache),
  });
  assert.ok(Math.abs(paper - 2.62) < 0.01, `paper: ${paper}`);
  assert.ok(Math.abs(ours / paper - 1) < 1e-3, `ours ${ours}, paper ${paper}`);
});

Deno.test("paper scale keeps the paper's ratio of working set to cache", () => {
  for (const cacheGiB of [PAPER_NODE.cacheGiB, PAPER_NODE.doubledCacheGiB]) {
    const cacheBytes = parseSizeBytes(paperComputeNode("mem", cacheGiB).cache);
    for (const share of Object.values(APP_DATASETS)) {
      const ratio = parseSizeBytes(paperDataset(share)) / cacheBytes;
      const paper = (share * PAPER_NODE.cacheGiB) / cacheGiB;
      assert.ok(Math.abs(ratio / paper - 1) < 1e-3, `${share} at ${cacheGiB} GiB: ${ratio}`);
    }
  }
});
