import assert from "node:assert/strict";
import { FuseDisconnectedError } from "../ffi/fuse.ts";
import { FALLOC_CONSTANTS } from "../ffi/fuse_abi.ts";
import type { SwapBackend } from "./backend.ts";
import { SwapFileSystem } from "./fuse_protocol.ts";
import {
  fallocateArgs,
  FUSE,
  fuseRequest,
  readArgs,
  replyHeader,
  writeArgs,
} from "./fuse_test_helpers.ts";
import { runIoLoop } from "./io_loop.ts";
import { PageState, SwapSharedState } from "./shared_state.ts";

const PAGE = 4096;

/** Replays requests, records replies, then ends like an unmounted device. */
function channel(requests: Uint8Array<ArrayBuffer>[]) {
  const replies: Uint8Array[] = [];
  return {
    replies,
    read(buffer: Uint8Array<ArrayBuffer>): number {
      const next = requests.shift();
      if (next === undefined) throw new FuseDisconnectedError(19);
      buffer.set(next);
      return next.length;
    },
    write(reply: Uint8Array<ArrayBuffer>): boolean {
      replies.push(reply.slice());
      return true;
    },
  };
}

/** A backend over a map of pages, counting calls. */
function memoryBackend() {
  const pages = new Map<number, Uint8Array>();
  const calls: string[] = [];
  const backend: SwapBackend = {
    read(offset, target) {
      calls.push(`read ${offset}`);
      for (let at = 0; at < target.length; at += PAGE) {
        target.set(pages.get(offset + at) ?? new Uint8Array(PAGE).fill(0xee), at);
      }
    },
    write(offset, source) {
      calls.push(`write ${offset}`);
      for (let at = 0; at < source.length; at += PAGE) {
        pages.set(offset + at, source.slice(at, at + PAGE));
      }
    },
    discard(offset, length) {
      calls.push(`discard ${offset} ${length}`);
    },
    release() {},
  };
  return { backend, calls };
}

async function serve(
  requests: Uint8Array<ArrayBuffer>[],
  state = SwapSharedState.create({ pages: 256, workers: 1 }),
) {
  const ch = channel(requests);
  const { backend, calls } = memoryBackend();
  const fs = new SwapFileSystem({ sizeBytes: 256 * PAGE, maxTransferBytes: 64 * PAGE, timeSec: 0 });
  const end = await runIoLoop({ channel: ch, fs, backend, state, worker: 0 });
  return { end, replies: ch.replies, calls, state };
}

Deno.test("I/O loop: pages never written read as zeros without asking the memory server", async () => {
  const { end, replies, calls } = await serve([
    fuseRequest(FUSE.FUSE_READ, 1, 2, readArgs(0, 2 * PAGE)),
  ]);
  assert.equal(end, "disconnected");
  assert.deepEqual(calls, []);
  assert.deepEqual(replyHeader(replies[0] ?? new Uint8Array()), {
    len: 16 + 2 * PAGE,
    error: 0,
    unique: 1,
  });
  assert.ok(replies[0]?.subarray(16).every((b) => b === 0));
});

Deno.test("I/O loop: a written page is stored, read back from the server, discarded to empty", async () => {
  const data = new Uint8Array(PAGE).fill(7);
  const { replies, calls, state } = await serve([
    fuseRequest(FUSE.FUSE_WRITE, 1, 2, writeArgs(PAGE, data)),
    fuseRequest(FUSE.FUSE_READ, 2, 2, readArgs(0, 2 * PAGE)),
    fuseRequest(
      FUSE.FUSE_FALLOCATE,
      3,
      2,
      fallocateArgs(
        0,
        4 * PAGE,
        FALLOC_CONSTANTS.FALLOC_FL_PUNCH_HOLE | FALLOC_CONSTANTS.FALLOC_FL_KEEP_SIZE,
      ),
    ),
  ]);
  assert.deepEqual(calls, [`write ${PAGE}`, "read 0", `discard 0 ${4 * PAGE}`]);
  const read = replies[1] ?? new Uint8Array();
  assert.ok(
    read.subarray(16, 16 + PAGE).every((b) => b === 0),
    "the empty page is zeros, not the server's",
  );
  assert.ok(read.subarray(16 + PAGE).every((b) => b === 7));
  assert.equal(state.page(1), PageState.EMPTY);
  const totals = state.totals();
  assert.deepEqual([
    totals.bytesWritten,
    totals.bytesRead,
    totals.bytesDiscarded,
    totals.storedPages,
  ], [
    PAGE,
    2 * PAGE,
    4 * PAGE,
    0,
  ]);
});

Deno.test("I/O loop: a read touching a lost page fails with EIO", async () => {
  const state = SwapSharedState.create({ pages: 256, workers: 1 });
  state.mark(0, 3, 1, PageState.STORED);
  state.markAllLost(0);
  const { replies, calls } = await serve([
    fuseRequest(FUSE.FUSE_READ, 9, 2, readArgs(2 * PAGE, 2 * PAGE)),
  ], state);
  assert.deepEqual(calls, []);
  assert.equal(replyHeader(replies[0] ?? new Uint8Array()).error, -5);
  assert.equal(state.totals().ioErrors, 1);
});
