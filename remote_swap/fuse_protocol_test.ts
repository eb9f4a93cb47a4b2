import assert from "node:assert/strict";
import { FALLOC_CONSTANTS, FUSE_LAYOUTS as L } from "../ffi/fuse_abi.ts";
import { SWAP_FILE_NODE, SwapFileSystem } from "./fuse_protocol.ts";
import {
  fallocateArgs,
  FUSE,
  fuseRequest,
  initArgs,
  readArgs,
  replyHeader,
  writeArgs,
} from "./fuse_test_helpers.ts";

const MiB = 1 << 20;
const OUT = L.fuse_out_header.size;

function fs(): SwapFileSystem {
  return new SwapFileSystem({ sizeBytes: 64 * MiB, maxTransferBytes: MiB, timeSec: 1_700_000_000 });
}

function reply(): Uint8Array {
  return new Uint8Array(MiB + 4096);
}

Deno.test("FUSE INIT: the lower minor version, only the flags spirit uses, 1 MiB transfers", () => {
  const filesystem = fs();
  const out = reply();
  const offered = FUSE.FUSE_ASYNC_READ | FUSE.FUSE_BIG_WRITES | FUSE.FUSE_ASYNC_DIO |
    FUSE.FUSE_MAX_PAGES | (1 << 3);
  const action = filesystem.handle(fuseRequest(FUSE.FUSE_INIT, 1, 0, initArgs(45, offered)), out);
  assert.equal(action.kind, "reply");
  const view = new DataView(out.buffer);
  const f = L.fuse_init_out.fields;
  assert.equal(view.getUint32(OUT + f.minor, true), 38);
  assert.equal(view.getUint32(OUT + f.flags, true), offered & ~(1 << 3));
  assert.equal(view.getUint32(OUT + f.max_write, true), MiB);
  assert.equal(view.getUint16(OUT + f.max_pages, true), 256);
  const old = fs();
  old.handle(fuseRequest(FUSE.FUSE_INIT, 1, 0, initArgs(30, FUSE.FUSE_ASYNC_READ)), out);
  assert.equal(view.getUint32(OUT + f.max_write, true), 128 * 1024, "without MAX_PAGES");
  assert.equal(old.session?.minor, 30);
});

Deno.test('FUSE LOOKUP and OPEN: one regular file "swap", opened with direct I/O', () => {
  const out = reply();
  const name = new TextEncoder().encode("swap\0");
  assert.equal(fs().handle(fuseRequest(FUSE.FUSE_LOOKUP, 2, 1, name), out).kind, "reply");
  const view = new DataView(out.buffer);
  assert.equal(
    Number(view.getBigUint64(OUT + L.fuse_entry_out.fields.nodeid, true)),
    SWAP_FILE_NODE,
  );
  const attr = OUT + L.fuse_entry_out.fields.attr;
  assert.equal(Number(view.getBigUint64(attr + L.fuse_attr.fields.size, true)), 64 * MiB);
  assert.equal(view.getUint32(attr + L.fuse_attr.fields.mode, true), 0o100600);
  fs().handle(fuseRequest(FUSE.FUSE_LOOKUP, 3, 1, new TextEncoder().encode("other\0")), out);
  assert.equal(replyHeader(out).error, -2, "ENOENT");
  fs().handle(fuseRequest(FUSE.FUSE_OPEN, 4, SWAP_FILE_NODE, new Uint8Array(8)), out);
  assert.equal(
    view.getUint32(OUT + L.fuse_open_out.fields.open_flags, true),
    FUSE.FOPEN_DIRECT_IO | FUSE.FOPEN_PARALLEL_DIRECT_WRITES,
  );
});

Deno.test("FUSE READ and WRITE become data actions, clipped to the file", () => {
  const filesystem = fs();
  const out = reply();
  assert.deepEqual(
    filesystem.handle(fuseRequest(FUSE.FUSE_READ, 5, 2, readArgs(4096, 8192)), out),
    {
      kind: "read",
      unique: 5n,
      offset: 4096,
      size: 8192,
    },
  );
  const past = filesystem.handle(fuseRequest(FUSE.FUSE_READ, 6, 2, readArgs(64 * MiB, 4096)), out);
  assert.equal(past.kind, "reply");
  assert.deepEqual(replyHeader(out), { len: OUT, error: 0, unique: 6 }, "end of file: no data");
  const write = filesystem.handle(
    fuseRequest(FUSE.FUSE_WRITE, 7, 2, writeArgs(8192, new Uint8Array(4096))),
    out,
  );
  assert.equal(write.kind, "write");
  filesystem.handle(
    fuseRequest(FUSE.FUSE_WRITE, 8, 2, writeArgs(64 * MiB - 4096, new Uint8Array(8192))),
    out,
  );
  assert.equal(replyHeader(out).error, -27, "EFBIG past the end");
});

Deno.test("FUSE FALLOCATE: a punched hole is a discard; other modes are refused or no-ops", () => {
  const filesystem = fs();
  const out = reply();
  const punch = FALLOC_CONSTANTS.FALLOC_FL_PUNCH_HOLE | FALLOC_CONSTANTS.FALLOC_FL_KEEP_SIZE;
  assert.deepEqual(
    filesystem.handle(
      fuseRequest(FUSE.FUSE_FALLOCATE, 9, 2, fallocateArgs(63 * MiB, 4 * MiB, punch)),
      out,
    ),
    { kind: "discard", unique: 9n, offset: 63 * MiB, length: MiB },
  );
  filesystem.handle(fuseRequest(FUSE.FUSE_FALLOCATE, 10, 2, fallocateArgs(0, 4096, 0)), out);
  assert.equal(replyHeader(out).error, 0, "preallocation inside the file");
  filesystem.handle(fuseRequest(FUSE.FUSE_FALLOCATE, 11, 2, fallocateArgs(0, 4096, 0x10)), out);
  assert.equal(replyHeader(out).error, -95, "EOPNOTSUPP");
});

Deno.test("FUSE: unknown requests get ENOSYS, FORGET and INTERRUPT no reply", () => {
  const out = reply();
  fs().handle(fuseRequest(99, 12, 1), out);
  assert.equal(replyHeader(out).error, -38);
  assert.equal(
    fs().handle(fuseRequest(FUSE.FUSE_FORGET, 13, 2, new Uint8Array(8)), out).kind,
    "none",
  );
  assert.equal(
    fs().handle(fuseRequest(FUSE.FUSE_INTERRUPT, 14, 0, new Uint8Array(8)), out).kind,
    "none",
  );
});
